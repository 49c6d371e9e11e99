"""The `heldout` command line, run as a real process where exit codes matter."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from heldout.platform.cli import main

GROUPS = ["challenge", "sandbox", "grade", "invite", "user", "serve", "worker", "demo", "metrics"]


def heldout(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    import os
    import shutil

    exe = shutil.which("heldout") or str(Path(__file__).parents[2] / ".venv/bin/heldout")
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HELDOUT_")}
    full_env.update(env or {})
    return subprocess.run(
        [exe, *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_help_lists_every_group() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for group in GROUPS:
        assert f"\n  {group} " in result.output


def test_bad_setting_is_one_clear_line_without_traceback(tmp_path: Path) -> None:
    result = heldout("serve", env={"HELDOUT_DATABASE_URL": "mysql://x"}, cwd=tmp_path)
    assert result.returncode != 0
    assert result.stderr.startswith("error: HELDOUT_DATABASE_URL=")
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.postgres
def test_unreachable_database_is_one_clear_line(tmp_path: Path) -> None:
    from tests.services import free_port

    url = f"postgresql://nobody@127.0.0.1:{free_port()}/x"
    result = heldout(
        "serve", env={"HELDOUT_DATABASE_URL": url, "HELDOUT_HOME": str(tmp_path)}, cwd=tmp_path
    )
    assert result.returncode != 0
    assert "cannot reach the database" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_start_does_not_import_the_web_or_database_stack() -> None:
    # `heldout grade` and `heldout sandbox run` must start fast: no Flask, no SQLAlchemy.
    import subprocess
    import sys

    code = (
        "import sys, heldout.platform.cli; "
        "print(sorted(m for m in ('flask', 'sqlalchemy', 'alembic', 'docker', 'sklearn') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"


def test_unreachable_s3_is_one_clear_line_before_any_work(tmp_path: Path) -> None:
    from tests.services import free_port

    kit = Path(__file__).parents[2] / "challenges" / "examples" / "churn"
    env = {
        "HELDOUT_HOME": str(tmp_path),
        "HELDOUT_STORAGE_URL": "s3://heldout",
        "HELDOUT_S3_ENDPOINT": f"http://127.0.0.1:{free_port()}",
    }
    result = heldout("challenge", "build", str(kit), "--json", env=env, cwd=tmp_path)
    assert result.returncode != 0
    assert result.stdout == ""
    assert result.stderr.strip().splitlines()[-1].startswith("error: cannot reach S3 at 127.0.0.1")
    assert "Traceback" not in result.stderr
    assert "anonymize" not in result.stderr  # it stopped before building anything


def test_unreachable_docker_engine_is_one_clear_line(tmp_path: Path) -> None:
    kit = Path(__file__).parents[2] / "challenges" / "examples" / "churn"
    (tmp_path / "data").mkdir()
    result = heldout(
        "sandbox",
        "run",
        str(kit / "starter.ipynb"),
        "--data",
        str(tmp_path / "data"),
        "--out",
        str(tmp_path / "out"),
        "--json",
        env={"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"},
        cwd=tmp_path,
    )
    assert result.returncode != 0
    assert result.stderr.strip().startswith("error: cannot reach the Docker engine")
    assert "start dockerd or set DOCKER_HOST" in result.stderr
    assert "Traceback" not in result.stderr
