"""A Ray cluster for the service tests, started with Ray's own CLI (``ray start``) in a
process of its own and stopped with ``ray stop``; the tests only join it as a driver
(``ray.init(address=...)``).

Ray nodes started inside a long test process (``ray.init(num_cpus=...)``,
``ray.cluster_utils.Cluster``) failed to come up now and then once the process held
gRPC servers (the raylet never registered within Ray's 30 s), and such a node leaves
its half-started processes to the garbage collector, whose ResourceWarning fails an
unrelated later test. These modules also run in a process of their own
(tests/service/test_ray_isolated.py).
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
