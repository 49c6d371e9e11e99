"""Hostile notebooks against the real Docker engine: each contained, with its exact outcome."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from heldout.sandbox import RunResult

pytestmark = pytest.mark.docker

Run = Callable[..., RunResult]


def _csv(path: Path | None) -> dict[str, str]:
    assert path is not None
    rows = [line.split(",", 1) for line in path.read_text().splitlines()[1:]]
    return {key: value for key, value in rows}


def _outputs(result: RunResult) -> list[str]:
    assert result.executed_path is not None
    nb = json.loads(result.executed_path.read_text())
    return ["".join(o.get("text", "")) for c in nb["cells"] for o in c.get("outputs", [])]


def test_honest_notebook_succeeds_and_predictions_are_collected(run: Run) -> None:
    result = run("honest")
    assert result.status == "succeeded", result.reason
    assert result.failure is None
    assert result.predictions_path is not None
    lines = result.predictions_path.read_text().splitlines()
    assert lines[0] == "id,label" and len(lines) == 51
    assert [t["cell"] for t in result.cell_timings] == [1, 2, 3]
    assert any("(200, 4) (50, 3)" in text for text in _outputs(result))
    assert result.image_digest.startswith("sha256:")
    assert len(result.notebook_sha256) == 64 and len(result.data_sha256) == 64


def test_exception_names_cell_and_error(run: Run) -> None:
    result = run("raises")
    assert result.status == "failed"
    assert result.failure is not None
    assert (result.failure["cell"], result.failure["ename"]) == (3, "ValueError")
    assert result.reason == "cell 3 raised ValueError: the answer is not 42"
    assert "\x1b[" not in result.failure["traceback"]
    assert "the answer is not 42" in result.failure["traceback"]


def test_network_has_only_loopback_and_host_ports_are_unreachable(
    run: Run, data_copy: Path
) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.setblocking(False)
        (data_copy / "port.txt").write_text(str(server.getsockname()[1]))
        result = run("network", data=data_copy)
        with pytest.raises(BlockingIOError):
            server.accept()  # nothing ever connected to the host's port
    assert result.status == "failed"
    assert result.failure is not None
    assert (result.failure["cell"], result.failure["ename"]) == (2, "ConnectionRefusedError")
    assert "['lo']" in _outputs(result)[0]


def test_fork_storm_hits_the_pids_limit(run: Run, runtime: str) -> None:
    result = run("fork_storm", memory_mb=1024, pids=40)
    assert result.status == "failed"
    if runtime == "runsc":
        # gVisor's own kernel cannot start more tasks either: the container ends, the run with it
        assert "stopped the sandbox's runner" in result.reason
        return
    assert result.failure is not None
    assert result.failure["ename"] == "BlockingIOError"


def test_memory_growth_is_out_of_memory(run: Run) -> None:
    result = run("memory_growth")
    assert result.status == "out_of_memory"
    assert "256 MB" in result.reason


def test_cpu_spin_times_out_and_keeps_the_partial_notebook(run: Run) -> None:
    result = run("cpu_spin", timeout_s=5)
    assert result.status == "timed_out"
    assert "5 s" in result.reason and "cell 2" in result.reason
    assert _outputs(result)[0] == "spinning\n"


def test_sleep_times_out_and_keeps_the_partial_notebook(run: Run) -> None:
    result = run("sleep", timeout_s=5)
    assert result.status == "timed_out"
    assert _outputs(result)[0] == "first cell done\n"


def test_kernel_exit_is_reported_at_once_not_at_the_deadline(run: Run) -> None:
    result = run("kernel_exit", timeout_s=60)
    assert result.status == "failed"  # timed_out would mean we waited for the deadline
    assert result.failure is not None
    assert (result.failure["cell"], result.failure["ename"]) == (2, "DeadKernelError")
    assert "kernel died" in result.reason and "exit status 3" in result.reason


def test_a_gigabyte_of_output_is_stopped(run: Run) -> None:
    result = run("output_flood", output_abort_mb=16)
    assert result.status == "failed"
    assert result.failure is not None
    assert (result.failure["cell"], result.failure["ename"]) == (1, "OutputLimitExceeded")
    assert result.executed_path is not None
    assert result.executed_path.stat().st_size < 2 * 2**20  # the cell's output was truncated


def test_disk_fill_stops_at_the_working_directory_cap(run: Run) -> None:
    result = run("disk_fill", disk_mb=16)
    assert result.status == "failed"
    assert result.failure is not None
    assert result.failure["ename"] == "OSError"
    assert "No space left on device" in result.failure["evalue"]


def test_symlinked_predictions_are_not_followed(run: Run) -> None:
    result = run("symlink_predictions")
    assert result.status == "succeeded"
    assert result.predictions_path is None
    assert not (result.executed_path.parent / "predictions.csv").exists()  # type: ignore[union-attr]
    assert "predictions.csv is a symbolic link" in result.reason


def test_detached_background_processes_die_with_the_container(run: Run) -> None:
    result = run("background_process")
    assert result.status == "succeeded"
    assert result.predictions_path is not None
    host = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    assert "sleep 31337" not in host.stdout


def test_oversized_predictions_are_not_collected(run: Run) -> None:
    result = run("oversized_predictions", predictions_mb=1)
    assert result.status == "succeeded"
    assert result.predictions_path is None
    assert "over the 1 MB limit" in result.reason


def test_pip_install_is_impossible(run: Run) -> None:
    result = run("pip_install")
    assert result.status == "failed"
    assert result.failure is not None
    assert result.failure["ename"] == "CalledProcessError"


def test_file_descriptor_storm_hits_the_open_files_limit(run: Run) -> None:
    result = run("fd_storm", nofile=256)
    assert result.status == "failed"
    assert result.failure is not None
    assert result.failure["ename"] == "OSError"
    assert "Too many open files" in result.failure["evalue"]


def test_host_secrets_are_not_in_the_environment_or_filesystem(
    run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HELDOUT_SECRET_KEY", "heldout-secret-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "heldout-secret-aws")
    (tmp_path / "answer_key.csv").write_text("id,label\nheldout-secret-answer,1\n")
    result = run("secrets")
    assert result.status == "succeeded", result.reason
    assert result.predictions_path is not None
    found = result.predictions_path.read_text()
    assert "env PATH=" in found  # the notebook did look
    assert "heldout-secret" not in found
    assert "HELDOUT_SECRET_KEY" not in found and "AWS_" not in found


def test_no_docker_socket_or_engine_port_inside(run: Run) -> None:
    result = run("docker_socket")
    assert result.status == "succeeded"
    probes = _csv(result.predictions_path)
    assert probes and set(probes.values()) == {"False"}, probes


def test_only_the_working_directory_and_tmp_are_writable(run: Run) -> None:
    result = run("write_outside")
    assert result.status == "succeeded"
    written = {path for path, ok in _csv(result.predictions_path).items() if ok == "True"}
    assert written == {"probe", "/tmp/probe", "/dev/shm/probe"}


def test_the_kernel_is_python3_whatever_the_notebook_asks(run: Run) -> None:
    result = run("other_kernel")
    assert result.status == "succeeded"
    assert result.predictions_path is not None
    assert result.predictions_path.read_text().strip() == "/opt/venv/bin/python"


def test_data_is_copied_with_its_folders_readable_and_never_writable(
    run: Run, data_copy: Path
) -> None:
    (data_copy / "nested").mkdir()
    (data_copy / "nested" / "extra.csv").write_text("hello\n")
    result = run("read_data", data=data_copy)
    assert result.status == "succeeded", result.reason
    assert result.predictions_path is not None
    rows = result.predictions_path.read_text().splitlines()[1:]
    assert rows[-1] == "nested,hello,"
    found = {row.split(",")[0]: row.split(",")[1:] for row in rows[:-1]}
    assert set(found) == {"data/nested", "data/test.csv", "data/train.csv", "data/nested/extra.csv"}
    assert all(flags == ["True", "False"] for flags in found.values()), found


def test_the_notebook_cannot_kill_the_runner_or_init(run: Run) -> None:
    # the kernel runs under another uid than the runner and tini: every signal is refused
    result = run("kill_runner", timeout_s=30)
    assert result.status == "succeeded", result.reason
    assert _outputs(result)[0] == "denied 2 killed []\n"


def test_a_version_3_notebook_is_upgraded_and_runs(run: Run) -> None:
    result = run("version3")
    assert result.status == "succeeded", result.reason
    assert "upgraded to version 4" in result.reason
    assert any("upgraded to version 4" in note for note in result.notes)
    assert _outputs(result) == ["v3 runs\n"]


def test_plt_show_and_open_figures_become_images_in_the_executed_notebook(run: Run) -> None:
    result = run("plots", timeout_s=60)
    assert result.status == "succeeded", result.reason
    assert result.executed_path is not None
    cells = json.loads(result.executed_path.read_text())["cells"]
    images = [
        sum("image/png" in o.get("data", {}) for o in cell.get("outputs", [])) for cell in cells
    ]
    assert images == [1, 1, 0]


def test_the_libraries_data_science_notebooks_reach_for_are_there(run: Run) -> None:
    result = run("common_libraries", timeout_s=120, memory_mb=1024)
    assert result.status == "succeeded", result.reason
    printed = "".join(_outputs(result))
    assert "style ok True" in printed and "45\n" in printed and "2.0\n" in printed
