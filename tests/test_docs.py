"""Generated documentation stays in step with the registries."""

from __future__ import annotations

from neural.docs import GENERATED, main
from neural.layers.registry import all_specs


def test_generated_docs_are_up_to_date() -> None:
    assert main(["--check"]) == 0, "run `python -m neural.docs` and commit docs/"


def test_every_layer_is_documented_with_its_arguments() -> None:
    text = GENERATED["layers.md"]()
    for spec in all_specs():
        assert f"### {spec.kind}\n" in text
        for arg in spec.schema:
            assert f"| `{arg.name}` |" in text
