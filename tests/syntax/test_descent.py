"""The descent parser agrees with the reference (Lark) parser, which defines the language.

On every text: both build the same tree, spans included; or the descent parser gives up (or reports a
bad literal) and the reference parser reports a syntax error. Texts: every example, generated
programs that use every construct of the grammar, those programs mutated token by token, the mutated
examples of the property tests, and arbitrary text.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_properties import mutated, programs

from neural.errors import NeuralError, NeuralSyntaxError
from neural.source import SourceFile
from neural.syntax import ast, descent, parser, reference

ROOT = Path(__file__).resolve().parents[2]
NEURAL_FILES = sorted([*(ROOT / "examples").rglob("*.neural"), *(ROOT / "tests").rglob("*.neural")])
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_parsers_agree(text: str) -> ast.Module | None:
    """The tree both parsers build (None when the text is not valid syntax)."""
    source = SourceFile("agree.neural", text)
    try:
        fast: ast.Module | None = descent.parse_module(source)
    except descent.GiveUp:
        fast = None
    except NeuralSyntaxError:  # a bad escape or an over-long integer: the reference must refuse it too
        with pytest.raises(NeuralError):
            reference.parse_source(source)
        return None
    try:
        slow: ast.Module | None = reference.parse_source(source)
    except NeuralError:
        slow = None
    assert fast == slow, f"the parsers disagree on:\n{text}"
    return fast


@pytest.mark.parametrize("path", NEURAL_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_neural_file_parses_the_same(path: Path) -> None:
    assert assert_parsers_agree(path.read_text(encoding="utf-8")) is not None


# --- programs over the whole grammar -------------------------------------------------------------
# A plain seeded generator (hypothesis' recursive strategies cost ~0.1 s a program); a failure prints its text.

NAMES = ["x", "a_1", "Dense", "relu", "layers", "network", "define", "import", "networkN", "_"]
NUMBERS = ["0", "7", "1_000", "007", "1.5", "1.", ".5", "1e-4", "2E+3", "1_0.2_5", "3e5"]
STRINGS = ['"relu"', "'same'", '""', r'"a\"b"', r'"tab\t"', r'"\x41\u00e9"', '"# not a comment"']
MUTATION_TOKENS = ["(", ")", "{", "}", "[", "]", ",", ":", "=", "*", "@", ";", "-", "x", "1", "1.", '"', "#", "\n"]


class ProgramWriter:
    """Random programs that use every construct of grammar.lark (and, at random, keywords as names)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def pick(self, options: list[str]) -> str:
        return self.rng.choice(options)

    def coin(self) -> bool:
        return self.rng.random() < 0.5

    def listed(self, make: Callable[[], str], most: int, least: int = 0) -> list[str]:
        return [make() for _ in range(self.rng.randint(least, most))]

    def expr(self, depth: int = 0) -> str:
        choice = self.rng.randint(0, 9) if depth < 3 else 0
        inner = lambda: self.expr(depth + 1)  # noqa: E731
        if choice <= 2:
            return self.pick([*NAMES, *NUMBERS, *STRINGS])
        if choice == 3:
            return f"{inner()} {self.pick(['+', '-', '*', '/', '//', '%'])} {inner()}"
        if choice == 4:
            return self.pick(["-", "+ ", "--"]) + inner()
        if choice == 5:
            return f"({inner()})"
        if choice == 6:
            items = self.listed(inner, 3)
            return "(" + ", ".join(items) + ("," if len(items) == 1 or (items and self.coin()) else "") + ")"
        if choice == 7:
            items = self.listed(inner, 3)
            return "[" + ", ".join(items) + ("," if items and self.coin() else "") + "]"
        return self.pick(NAMES) + self.call_args(depth + 1)

    def call_args(self, depth: int = 0) -> str:
        def arg() -> str:
            value = self.expr(depth)
            return value if self.coin() else f"{self.pick(NAMES)}{self.pick(['=', ': '])}{value}"

        args = self.listed(arg, 3)
        return "(" + ", ".join(args) + ("," if args and self.coin() else "") + ")"

    def statement(self, depth: int) -> str:
        text = ", ".join(self.listed(lambda: self.pick(NAMES), 2))
        text = f"{text} = " if text else ""
        text += self.pick(NAMES)
        if self.coin():
            text += self.call_args()
            if self.coin():
                refs = ", ".join(self.listed(lambda: self.pick(NAMES) + self.pick(["", "[0]", "[1_0]"]), 3))
                text += f"([{refs}])" if self.coin() else f"({refs})"
        if depth < 2 and self.coin():
            text += " " + self.body(depth + 1)
        if self.coin():
            text += " * " + self.pick(["3", "(2)", "n", "f(1)", "-1"])
        if self.coin():
            text += " @ " + self.pick(['"cuda:0"', "dev", "(1, 2)"])
        return text

    def entry(self, depth: int) -> str:
        kind = self.pick(["statement", "statement", "keyed", "layers", ";"])
        if kind == "keyed":
            return self.pick(NAMES) + ": " + ", ".join(self.listed(self.expr, 3, least=1))
        if kind == "layers":
            return "layers:" if depth >= 2 or self.coin() else "layers " + self.body(depth + 1)
        return ";" if kind == ";" else self.statement(depth)

    def body(self, depth: int = 0) -> str:
        separator = self.pick(["\n  ", " ", " # note\n  ", "\t"])
        return "{" + separator + separator.join(self.listed(lambda: self.entry(depth), 4)) + separator + "}"

    def module(self) -> str:
        items = []
        for kind in self.listed(lambda: self.pick(["network", "define", "research", "import", ";"]), 4):
            if kind == "network":
                items.append(f"network {self.pick(NAMES)} {self.body()}")
            elif kind == "define":
                params = self.listed(lambda: self.pick(NAMES) + self.pick(["", "=1", "=(2, 2)", '="relu"']), 3)
                written = "(" + ", ".join(params) + ")" if self.coin() else ""
                items.append(f"define {self.pick(NAMES)}{written} {self.body()}")
            elif kind == "research":
                items.append(f"research {self.pick(['', 'Study ', 'network '])}{self.body()}")
            else:
                items.append(f"import {self.pick(STRINGS)}" if kind == "import" else ";")
        return "\n".join(items) + self.pick(["", "\n", "\n# end", "  \t\n\n"])

    def mutated_module(self) -> str:
        text = self.module()
        for _ in range(self.rng.randint(1, 3)):
            pos = self.rng.randint(0, len(text))
            text = text[:pos] + self.pick(MUTATION_TOKENS) + text[pos + self.rng.randint(0, 3) :]
        return text


PROGRAMS = 2000
CHUNKS = 4


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_generated_modules_parse_the_same(chunk: int) -> None:
    valid = 0
    for seed in range(chunk, PROGRAMS, CHUNKS):
        valid += assert_parsers_agree(ProgramWriter(seed).module()) is not None
    assert valid >= PROGRAMS // CHUNKS // 3, "the generator should write mostly valid programs"


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_mutated_modules_parse_the_same(chunk: int) -> None:
    for seed in range(chunk, PROGRAMS, CHUNKS):
        assert_parsers_agree(ProgramWriter(seed).mutated_module())


@SETTINGS
@given(st.one_of(programs(), mutated()))
def test_property_test_programs_parse_the_same(text: str) -> None:
    assert_parsers_agree(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*MUTATION_TOKENS, " ", "network", "N", "layers", "'", "é"]), max_size=40).map("".join))
def test_token_soup_parses_the_same(text: str) -> None:
    assert_parsers_agree(text)


# --- specific decisions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "network N { layers_count: 3 }",  # a name that starts with a keyword
        "research { }",  # a research block without a name: its span is the keyword
        "network N { a: (), (1,), ((1), 2), [], [1,] }",  # brackets are part of a tuple's or list's span
        "network N { x = Dense(1)(a, b[1]) y = Add()([x, a,]) }",
        "network network { network: 1 }",  # keywords are names after `network`
        "network N { a: 1__0 }",  # INT 1, then a statement named `__0`, as Lark splits it
    ],
)
def test_decisions_match_the_reference(text: str) -> None:
    assert assert_parsers_agree(text) is not None


@pytest.mark.parametrize("text", ["networkN { }", "network N { layers = 1 }", "network N { Dense(1) * 2 * 3 }"])
def test_invalid_syntax_is_reported_by_the_reference_parser(text: str) -> None:
    with pytest.raises(NeuralSyntaxError):
        parser.parse_source(SourceFile("bad.neural", text))
    assert assert_parsers_agree(text) is None


def test_deep_nesting_falls_back_instead_of_overflowing() -> None:
    source = SourceFile("deep.neural", "network N { a: " + "(" * 400 + "1" + ")" * 400 + " }")
    with pytest.raises(descent.GiveUp):
        descent.parse_module(source)
    assert parser.parse_source(source) == reference.parse_source(source)


def test_whitespace_before_an_unknown_character_is_scanned_once() -> None:
    """A failed token match must not rescan the text before it (quadratic time on long runs of space)."""
    source = SourceFile("slow.neural", "network N {" + " " * 200_000 + "$ }")
    with pytest.raises(descent.GiveUp):
        descent.parse_module(source)


def test_valid_files_do_not_import_lark() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from neural.api import check; "
        f"check({str(ROOT / 'examples' / 'digits_cnn.neural')!r}); "
        "assert 'lark' not in sys.modules, 'lark was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
