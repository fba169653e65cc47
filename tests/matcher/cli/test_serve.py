"""``matcher serve`` refuses bad settings with exit 2 before it starts a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from matcher.cli import EXIT_INVALID, main


def test_a_certificate_without_its_key_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--port", "0", "--tls-cert", str(tmp_path / "c.pem")]) == EXIT_INVALID
    assert "--tls-cert and --tls-key go together" in capsys.readouterr().err


def test_an_out_of_range_port_is_refused_with_the_setting_named(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["serve", "--port", "70000"]) == EXIT_INVALID
    assert "port" in capsys.readouterr().err
