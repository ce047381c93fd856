"""Random valid .neural programs: random layer stacks and small graphs whose shapes check.

A program grows one statement at a time; each candidate statement is kept only if the shape
engine accepts the program with it, so every generated program is valid by construction. The
shrinker removes statements while a failure persists, to keep a minimal regression example.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from neural.api import analyse, loads
from neural.errors import NeuralError
from neural.layers.base import Shape
from neural.shapes.engine import ShapedNetwork

Template = Callable[[random.Random, Shape], str]


def _units(r: random.Random) -> int:
    return r.choice([2, 3, 4, 6, 8])


def _word(r: random.Random, *options: str) -> str:
    """One of `options` as a .neural string literal."""
    return f'"{r.choice(options)}"'


def _act(r: random.Random) -> str:
    return r.choice(
        ['"relu"', '"tanh"', '"gelu"', '"sigmoid"', '"linear"', '"elu"', '"silu"', '"leaky_relu"', '"softplus"']
    )


ANY_RANK: list[Template] = [
    lambda r, s: f"Dense({_units(r)}, {_act(r)})",
    lambda r, s: r.choice(
        ["ReLU()", "Tanh()", "GELU()", "Sigmoid()", "ELU()", "SiLU()", "Mish()", "Softsign()", "LeakyReLU(0.1)"]
    ),
    lambda r, s: f"Dropout({r.choice([0.1, 0.3])})",
    lambda r, s: "LayerNormalization()",
    lambda r, s: "Identity()",
    lambda r, s: f"Dense({s[-1]})" if s[-1] else "Identity()",
]
VECTOR: list[Template] = [
    lambda r, s: "BatchNormalization()",
    lambda r, s: f"RepeatVector({r.choice([2, 3])})",
    lambda r, s: f"Reshape(({s[0] // 2}, 2))" if s[0] and s[0] % 2 == 0 else "Identity()",
    lambda r, s: f"Residual {{ Dense({s[0]}, {_act(r)}) }}",
    lambda r, s: f"Parallel {{ Dense({_units(r)}) Dense({_units(r)}, {_act(r)}) }}\n    Concatenate()",
    lambda r, s: "Softmax()",
]
SEQUENCE: list[Template] = [
    lambda r, s: (
        f"Conv1D({_units(r)}, {r.choice([1, 2, 3])}, strides={r.choice([1, 2])}, padding={_word(r, 'valid', 'same', 'causal')})"
    ),
    lambda r, s: f"MaxPooling1D({r.choice([1, 2])})",
    lambda r, s: f"AveragePooling1D(2, padding={_word(r, 'valid', 'same')})",
    lambda r, s: r.choice(["GlobalAveragePooling1D()", "GlobalMaxPooling1D()", "Flatten()"]),
    lambda r, s: (
        f"{r.choice(['LSTM', 'GRU', 'SimpleRNN'])}({_units(r)}, return_sequences={r.choice(['true', 'false'])})"
    ),
    lambda r, s: f"Bidirectional({r.choice(['LSTM', 'GRU'])}({_units(r)}, return_sequences=true))",
    lambda r, s: f"MultiHeadAttention({r.choice([1, 2])})" if s[-1] and s[-1] % 2 == 0 else "Identity()",
    lambda r, s: (
        f"TransformerEncoder({r.choice([1, 2])}, {_units(r)}, dropout=0.0)"
        if s[-1] and s[-1] % 2 == 0
        else "Identity()"
    ),
    lambda r, s: "PositionalEncoding()" if s[-1] and s[-1] % 2 == 0 else "Identity()",
    lambda r, s: f"FeedForward({_units(r)})",
    lambda r, s: f"UpSampling1D({r.choice([1, 2])})",
    lambda r, s: f"ZeroPadding1D({r.choice([1, 2])})",
    lambda r, s: "Cropping1D(1)",
    lambda r, s: "Permute((2, 1))",
    lambda r, s: f"Conv1DTranspose({_units(r)}, {r.choice([2, 3])}, strides={r.choice([1, 2])})",
    lambda r, s: f'SeparableConv1D({_units(r)}, 3, padding="same")',
    lambda r, s: "BatchNormalization()",
    lambda r, s: f'Residual {{ Conv1D({s[-1]}, 3, padding="same") }}' if s[-1] else "Identity()",
]
IMAGE: list[Template] = [
    lambda r, s: (
        f"Conv2D({_units(r)}, {r.choice([1, 2, 3])}, strides={r.choice([1, 2])}, padding={r.choice(['1', _word(r, 'valid', 'same')])})"
    ),
    lambda r, s: f'DepthwiseConv2D({r.choice([1, 3])}, padding="same")',
    lambda r, s: f'SeparableConv2D({_units(r)}, 3, padding="same")',
    lambda r, s: (
        f"Conv2DTranspose({_units(r)}, {r.choice([2, 3])}, strides={r.choice([1, 2])}, padding={_word(r, 'valid', 'same')})"
    ),
    lambda r, s: f"MaxPooling2D({r.choice([1, 2])}, padding={_word(r, 'valid', 'same')})",
    lambda r, s: "AveragePooling2D(2)",
    lambda r, s: r.choice(["GlobalAveragePooling2D()", "GlobalMaxPooling2D()", "Flatten()"]),
    lambda r, s: f"UpSampling2D({r.choice([1, 2])})",
    lambda r, s: "ZeroPadding2D(1)",
    lambda r, s: "Cropping2D(1)",
    lambda r, s: "BatchNormalization()",
    lambda r, s: "SqueezeExcitation()",
    lambda r, s: f"GroupNormalization({r.choice([1, 2])})",
    lambda r, s: "AdaptiveAveragePooling2D(2)",
    lambda r, s: f'Residual("relu") {{ Conv2D({s[-1]}, 3, padding="same") }}' if s[-1] else "Identity()",
    lambda r, s: f'Parallel {{ Conv2D({_units(r)}, 1) Conv2D({_units(r)}, 3, padding="same") }}\n    Concatenate()',
]
BY_RANK = {1: VECTOR, 2: SEQUENCE, 3: IMAGE}


@dataclass
class Program:
    """A generated program: input shape, statements, and its text."""

    shape: Shape
    statements: list[str] = field(default_factory=list)
    loss: str = '"mse"'

    def text(self, statements: list[str] | None = None) -> str:
        body = "\n    ".join(statements if statements is not None else self.statements)
        dims = ", ".join(str(d) for d in self.shape)
        return (
            f"network Random {{\n  input: ({dims},)\n  layers:\n    {body}\n"
            f"  loss: {self.loss}\n  optimizer: SGD(learning_rate=0.05, momentum=0.5)\n}}\n"
        )


def analysed(text: str) -> ShapedNetwork | None:
    try:
        return analyse(loads(text).network())
    except NeuralError:
        return None


def generate_program(seed: int, max_layers: int = 6) -> Program:
    """A valid program: random input shape, 1 to `max_layers` statements, a Dense head."""
    r = random.Random(seed)
    rank = r.choice([1, 2, 3])
    shape: Shape = {
        1: (r.choice([4, 6, 8]),),
        2: (r.choice([4, 6]), r.choice([2, 4])),
        3: (r.choice([6, 8]), r.choice([6, 8]), r.choice([2, 3])),
    }[rank]
    program = Program(shape)
    current = shape
    for _ in range(r.randint(1, max_layers)):
        for _attempt in range(12):
            pool = BY_RANK.get(len(current), []) + ANY_RANK
            statement = r.choice(pool)(r, current)
            shaped = analysed(program.text([*program.statements, statement]))
            if shaped is not None and 0 < _size(shaped.output_shapes[0]) <= 4096:
                program.statements.append(statement)
                current = shaped.output_shapes[0]
                break
    if len(current) > 1:
        program.statements.append("Flatten()")
    program.statements.append(f"Dense({r.choice([1, 3])})")
    assert analysed(program.text()) is not None
    return program


def _size(shape: Shape) -> int:
    total = 1
    for d in shape:
        total *= d or 1
    return total


def shrink(program: Program, fails: Callable[[str], bool]) -> str:
    """Remove statements (one at a time, to a fixed point) while the program stays valid and still fails."""
    statements = list(program.statements)
    changed = True
    while changed:
        changed = False
        for i in range(len(statements) - 1):
            candidate = statements[:i] + statements[i + 1 :]
            text = program.text(candidate)
            if analysed(text) is not None and fails(text):
                statements = candidate
                changed = True
                break
    return program.text(statements)
