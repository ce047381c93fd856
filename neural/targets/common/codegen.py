"""Names and module-level pieces every generated module shares, whatever its framework.

Safety: the only text that reaches generated code from a .neural file is identifiers (checked here
again, as defence in depth) and literals written with `repr()`; a source file's name appears in a
module's docstring only when it is a plain file name.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Collection, Sequence
from pathlib import Path

from neural.errors import BackendError, NeuralErrors, raise_collected
from neural.layers.base import fmt_shape
from neural.shapes.engine import ShapedNetwork

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SAFE_FILE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def check_identifier(name: str) -> str:
    """Defence in depth: names reach generated code only if they are plain identifiers."""
    if not IDENTIFIER.match(name) or keyword.iskeyword(name):
        raise BackendError(f"`{name}` cannot be used as a Python name in generated code")
    return name


def local_name(name: str, *reserved: Collection[str]) -> str:
    """The variable of a layer or input called `name`: a trailing `_` where the generated code uses the name
    itself (it is in one of `reserved`)."""
    check_identifier(name)
    return f"{name}_" if any(name in names for names in reserved) else name


def class_name(network: str, *taken: Collection[str]) -> str:
    """The model class of a network: its name capitalized, `<Name>Network` where that is a name the generated
    module imports or defines besides it (in one of `taken`: a network called FeedForward must not shadow
    the FeedForward helper its own layers use)."""
    check_identifier(network)
    name = network[0].upper() + network[1:]
    return f"{name}Network" if any(name in names for names in taken) else name


def source_note(source: str | None) -> str:
    """` from <file name>` for a module's docstring, or "" (a file name never reaches code unchecked)."""
    name = Path(source).name if source else ""
    return f" from {name}" if SAFE_FILE_NAME.match(name) else ""


def summary(shaped: ShapedNetwork) -> str:
    """The inputs, layout and trainable parameters of a network, for the model's docstring."""
    shapes = ", ".join(f"{i.name} {fmt_shape(i.shape)}" for i in shaped.network.inputs)
    return f"inputs {shapes} ({shaped.network.layout}); {shaped.params:,} trainable parameters."


def module_constants(shaped: ShapedNetwork) -> list[str]:
    """NETWORK, INPUTS, OUTPUTS and LAYOUT: what the training code and its users read about the network."""
    net = shaped.network
    inputs = {i.name: (tuple(i.shape), i.dtype) for i in net.inputs}
    outputs = [tuple(d if d is not None else 1 for d in s) for s in shaped.output_shapes]
    return [
        f"NETWORK = {net.name!r}",
        f"INPUTS = {inputs!r}  # name: (shape of one sample, dtype)",
        f"OUTPUTS = {outputs!r}  # shape of one sample of each output",
        f"LAYOUT = {net.layout!r}",
    ]


def model_class(
    name: str,
    base: str,
    doc: str,
    *,
    init: str,
    init_body: Sequence[str],
    method: str,
    signature: Sequence[str],
    body: Sequence[str],
    outputs: Sequence[str],
    array: str,
) -> str:
    """A model class (PyTorch's nn.Module, Flax's nnx.Module): `init`, the `__init__` line, with `init_body`,
    then `method` taking `signature` and returning `outputs` (a tuple for several) after `body`; `array` is
    the type of inputs and outputs."""
    returned = outputs[0] if len(outputs) == 1 else f"({', '.join(outputs)})"
    returns = array if len(outputs) == 1 else f"tuple[{', '.join([array] * len(outputs))}]"
    lines = [
        f"class {name}({base}):",
        f'    """{doc}"""',
        "",
        f"    {init}",
        *(f"        {line}" for line in init_body),
        "",
        f"    def {method}(self, {', '.join(signature)}) -> {returns}:",
        *(f"        {line}" for line in body),
        f"        return {returned}",
    ]
    return "\n".join(lines)


def module_text(
    header: Sequence[str],
    imports: Sequence[str],
    constants: Sequence[str],
    helpers: Sequence[str],
    model: str,
    *sections: Sequence[str],
) -> str:
    """A generated module: its docstring, imports and constants, the support definitions its layers use and
    the model, then further sections (weights, training), two blank lines apart."""
    parts = [*header, "", *imports, "", *constants, "", "", *helpers, model]
    for section in sections:
        parts += ["", "", *section]
    return "\n".join(parts).rstrip() + "\n"


def generate_all(networks: Sequence[ShapedNetwork], generate: Callable[[ShapedNetwork], str]) -> dict[str, str]:
    """`generate` for every network, by name; the errors of all of them raised together."""
    found: dict[str, str] = {}
    errors = []
    for shaped in networks:
        try:
            found[shaped.network.name] = generate(shaped)
        except (BackendError, NeuralErrors) as exc:
            errors.append(exc)
    raise_collected(errors)
    return found


def format_code(text: str) -> str:
    """Format generated code with ruff (installed with Neural); unchanged if ruff is unavailable."""
    import subprocess
    import sys

    try:
        result = subprocess.run(
            [sys.executable, "-m", "ruff", "format", "--line-length", "120", "-"],
            input=text,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return text
    return result.stdout if result.returncode == 0 and result.stdout else text
