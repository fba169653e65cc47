"""A Ray cluster for the service tests, started with Ray's own CLI (``ray start``) in a
process of its own and stopped with ``ray stop``.

Ray nodes started inside the test process (``ray.init(num_cpus=...)``,
``ray.cluster_utils.Cluster``) failed to come up now and then in the full service
suite: the raylet never registered within Ray's 30 s, in a process that by then holds
gRPC servers, their threads and many open files (seen 2 times in 3 runs of
``tests/service``; never when those modules ran alone). A node that fails that way
also leaves its half-started processes to be reaped by the garbage collector, whose
ResourceWarning then fails an unrelated later test. Started from the CLI, the nodes
are forked by a fresh process, and the tests only join them as a driver
(``ray.init(address=...)``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

RAY = Path(sys.executable).with_name("ray")
START_TIMEOUT_S = 120.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _ray(*args: str) -> subprocess.CompletedProcess[str]:
    # Ray 2.60's `ray start` turns token authentication on by default; these nodes are
    # joined by this test process only, as `ray.init` nodes are, without a token.
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    return subprocess.run(
        [str(RAY), *args],
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_S,
        check=False,
        env=env,
    )


@contextmanager
def cli_cluster(*cpus: int) -> Iterator[str]:
    """A head node and one more node per further entry of ``cpus`` (CPUs each), on
    this machine; yields the head's address. Every Ray process started with
    ``ray start`` on the machine is stopped after (``ray stop --force``)."""
    address = f"127.0.0.1:{_free_port()}"
    common = ["--node-ip-address=127.0.0.1", "--disable-usage-stats"]
    nodes = [
        ["start", "--head", f"--port={address.rsplit(':', 1)[1]}", "--include-dashboard=false"],
        *(["start", f"--address={address}"] for _ in cpus[1:]),
    ]
    try:
        for args, n in zip(nodes, cpus, strict=True):
            done = _ray(*args, f"--num-cpus={n}", *common)
            if done.returncode != 0:
                raise RuntimeError(
                    f"ray {' '.join(args)} failed ({done.returncode}): "
                    f"{(done.stdout + done.stderr)[-1500:]}"
                )
        yield address
    finally:
        _ray("stop", "--force")
