"""The generated module as a user sees it: formatted, lint-clean, readable, placing layers where asked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from catalog import CASES
from catalog.lint import assert_ruff_clean

from neural.api import analyse, loads
from neural.errors import BackendError
from neural.targets.pytorch import emit
from neural.targets.pytorch.codegen import format_code, generate
from neural.targets.pytorch.load import import_code

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

PLACED = """
network Placed {
  input: (6,)
  layers:
    Dense(8, "relu") @ "cuda:1"
    hidden = Dense(8) @ "cpu"
    Output(2)
  execution { device: "cuda" }
}
"""


def module_text(source: str) -> str:
    return format_code(generate(analyse(loads(source).network())))


def test_compile_command_writes_a_lint_clean_formatted_module(tmp_path: Path) -> None:
    out = tmp_path / "model.py"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "neural.cli.main",
            "compile",
            str(EXAMPLES / "lenet5.neural"),
            "--backend",
            "pytorch",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert_ruff_clean(out)
    text = out.read_text()
    assert "class LeNet5(nn.Module):" in text and "def build_model() -> LeNet5:" in text
    assert "self.conv2d_1 = nn.Conv2d(" in text
    assert "# (None, 28, 28, 6)" in text  # one shape comment per layer


# the catalog's networks hold every kind of each family (tests/catalog/networks.py)
NETWORKS = [c for c in CASES if c.family == "networks"]


def test_generated_modules_of_the_catalog_networks_pass_ruff(tmp_path: Path) -> None:
    for i, found in enumerate(NETWORKS):
        (tmp_path / f"model_{i}.py").write_text(format_code(generate(found.network())), encoding="utf-8")
    assert_ruff_clean(tmp_path)


def test_layer_placement_is_honoured_and_falls_back_to_cpu() -> None:
    text = module_text(PLACED)
    assert 'device_or_cpu("cuda:1")' in text and 'device_or_cpu("cpu")' in text
    assert 'EXECUTION = {"device": "cuda"' in text
    module = import_code(text, "Placed")
    out = module.build_model()(torch.zeros(3, 6))
    assert out.shape == (3, 2)
    if not torch.cuda.is_available():
        assert module.device_or_cpu("cuda:1") == torch.device("cpu")
        assert module.resolve_device("cuda") == torch.device("cpu")


def test_a_kind_without_an_emitter_is_a_positioned_error(monkeypatch: pytest.MonkeyPatch) -> None:
    emit._ensure_loaded()
    monkeypatch.delitem(emit._EMITTERS, "Flatten")
    source = "network N {\n  input: (2, 3)\n  layers:\n    Flatten()\n    Dense(2)\n}\n"
    with pytest.raises(BackendError) as info:
        generate(analyse(loads(source).network()))
    assert "cannot generate Flatten" in info.value.message
    assert info.value.span is not None and (info.value.span.line, info.value.span.column) == (4, 5)


def test_module_takes_channels_last_input_and_permutes_once() -> None:
    text = module_text(
        "network C {\n input: (8, 8, 3)\n layers:\n  Conv2D(4, 3)\n  ReLU()\n  Conv2D(4, 3)\n  Flatten()\n  Dense(2)\n}\n"
    )
    forward = text[text.index("def forward") : text.index("def build_model")]
    assert forward.count("movedim(-1, 1)") == 1 and forward.count("movedim(1, -1)") == 1


@pytest.mark.parametrize("name", ["LOSS", "TRAIN", "Metrics", "F", "FeedForward"])
def test_network_names_never_shadow_generated_names(name: str) -> None:
    text = module_text(f'network {name} {{\n input: (4,)\n layers:\n  FeedForward(8)\n  Dense(2)\n loss: "mse"\n}}\n')
    module = import_code(text, name)
    assert module.build_model()(torch.zeros(1, 4)).shape == (1, 2)
    assert isinstance(module.LOSS, dict) and isinstance(module.TRAIN, dict)
