"""The `neural` command as a user runs it: output, exit codes, JSON formats."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from neural import __version__
from neural.cli.main import cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LENET = str(EXAMPLES / "lenet5.neural")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a separate process (exit codes included)."""
    return subprocess.run([sys.executable, "-m", "neural.cli.main", *args], capture_output=True, text=True, check=False)


def test_version_and_help() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0 and "check" in result.output and "summary" in result.output


def test_check_prints_one_ok_line_per_file() -> None:
    result = run("check", LENET, str(EXAMPLES / "vgg16.neural"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2 and all(": OK: " in line for line in lines)
    assert "LeNet5 (61,706 params)" in lines[0]


def test_check_quiet_prints_nothing() -> None:
    result = run("check", "-q", LENET)
    assert result.returncode == 0 and result.stdout == "" and result.stderr == ""


def test_invalid_program_exits_1_with_compiler_style_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.neural"
    bad.write_text("network N {\n  input: (784,)\n  layers:\n    Conv2D(32, 3)\n}\n")
    result = run("check", str(bad))
    assert result.returncode == 1
    assert (
        f"{bad}:4:5: error: Conv2D expects input of rank 3 (height, width, channels), received (784,)" in result.stderr
    )
    assert "    Conv2D(32, 3)" in result.stderr and "^^^^^^" in result.stderr
    assert "Traceback" not in result.stderr


def test_usage_errors_exit_2() -> None:
    assert run("check").returncode == 2
    assert run("summary", LENET, "--format", "xml").returncode == 2
    assert run("no-such-command").returncode == 2


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(b"", "is empty"), (b"\x00\x01\x02", "binary"), (b"network \xff {", "not valid UTF-8")],
)
def test_unreadable_files_are_clear_errors(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "f.neural"
    path.write_bytes(content)
    result = run("check", str(path))
    assert result.returncode == 1 and fragment in result.stderr and "Traceback" not in result.stderr


def test_missing_file() -> None:
    result = run("check", "/nonexistent/x.neural")
    assert result.returncode == 1 and "no such file" in result.stderr


def test_summary_table_has_totals() -> None:
    result = run("summary", LENET)
    assert result.returncode == 0, result.stderr
    for fragment in ("conv2d_1", "Conv2D", "(None, 28, 28, 6)", "61,706", "416,520", "Weight memory"):
        assert fragment in result.stdout


def test_summary_json_fields() -> None:
    result = run("summary", str(EXAMPLES / "resnet18.neural"), "--format", "json")
    data = json.loads(result.stdout)
    assert data["params"] == 11_689_512
    assert data["non_trainable"] == 9_600
    assert data["macs"] == 1_814_073_344
    assert data["output_shape"] == [None, 1000]
    first = data["layers"][0]
    assert first == {
        "name": "conv2d_1",
        "kind": "Conv2D",
        "output_shape": [None, 112, 112, 64],
        "params": 9408,
        "non_trainable": 0,
        "macs": 118013952,
    }
    assert sum(layer["params"] for layer in data["layers"]) == data["params"]


def test_summary_json_with_several_outputs(tmp_path: Path) -> None:
    path = tmp_path / "two.neural"
    path.write_text("network T {\n input: (8,)\n layers:\n  a = Dense(3)\n  b = Dense(5)(input)\n outputs: a, b\n}\n")
    data = json.loads(run("summary", str(path), "--format", "json").stdout)
    assert data["output_shape"] == {"a": [None, 3], "b": [None, 5]}


def test_summary_of_named_network(tmp_path: Path) -> None:
    path = tmp_path / "many.neural"
    path.write_text("network A { input: (4,) layers: Dense(2) }\nnetwork B { input: (4,) layers: Dense(7) }\n")
    data = json.loads(run("summary", str(path), "--network", "B", "--format", "json").stdout)
    assert data["network"] == "B" and data["output_shape"] == [None, 7]
    result = run("summary", str(path), "--network", "C")
    assert result.returncode == 1 and "no network `C`" in result.stderr


def test_check_json_is_the_resolved_ir() -> None:
    result = run("check", LENET, "--format", "json")
    data = json.loads(result.stdout)
    assert data["ok"] is True
    [net] = data["networks"]
    node = net["nodes"][0]
    assert node["kind"] == "Conv2D" and node["config"]["kernel_size"] == [5, 5]
    assert node["output_shapes"] == [[None, 28, 28, 6]] and node["weights"]["weight"]["shape"] == [6, 1, 5, 5]
    assert node["span"]["line"] == 5
    assert net["optimizer"]["name"] == "SGD"


def test_check_json_reports_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.neural"
    bad.write_text("network N {\n  input: (3,)\n  layers:\n    Dens(2)\n}\n")
    result = run("check", str(bad), "--format", "json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert (
        data["ok"] is False
        and data["errors"][0]["span"]["line"] == 4
        and data["errors"][0]["hint"] == "did you mean `Dense`?"
    )


def test_ten_trillion_parameters_are_summarized_quickly(tmp_path: Path) -> None:
    path = tmp_path / "huge.neural"
    path.write_text("network Huge {\n input: (1000000,)\n layers:\n  Dense(10000000) * 1\n  Dense(1000000)\n}\n")
    result = run("summary", str(path), "--format", "json")
    data = json.loads(result.stdout)
    assert data["params"] == 1_000_000 * 10_000_000 + 10_000_000 + 10_000_000 * 1_000_000 + 1_000_000
    assert data["params"] > 10**13
