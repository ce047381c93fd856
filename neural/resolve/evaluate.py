"""Evaluation of value expressions: literals, macro parameters, arithmetic, calls and HPO spaces."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from neural.config.values import CallValue, SymbolValue, describe
from neural.errors import InvalidValueError, NeuralSyntaxError
from neural.ir import HpoParam, HpoSpace
from neural.source import Span
from neural.syntax import ast

CONSTANTS = {"true": True, "false": False, "none": None}


@dataclass
class HpoState:
    """The values chosen for hyperparameters in this resolution, and every space seen on the way.

    `assignment` maps an HPO site key (`path:line:col`) to its value; unassigned sites take the
    space's default (first choice, lower bound). `label` names what is being evaluated, for reports.
    """

    assignment: Mapping[str, Any] = field(default_factory=dict)
    found: dict[str, HpoParam] = field(default_factory=dict)
    label: str = ""

    def choose(self, key: str, space: HpoSpace, span: Span) -> Any:
        if key in self.found and self.found[key].space != space:
            key = f"{key}#{sum(1 for k in self.found if k.startswith(key))}"
        if key not in self.found:
            self.found[key] = HpoParam(key, self.label or key, space, span)
        return self.assignment.get(key, space.default())


def site_key(span: Span) -> str:
    return f"{span.path}:{span.line}:{span.column}"


class Evaluator:
    """Turns `ast.Expr` into Python values; bare names resolve against `env` (macro parameters)."""

    def __init__(self, hpo: HpoState) -> None:
        self.hpo = hpo

    def eval(self, expr: ast.Expr, env: Mapping[str, Any]) -> Any:
        if isinstance(expr, ast.Literal):
            return expr.value
        if isinstance(expr, ast.Name):
            if expr.id in env:
                return env[expr.id]
            lowered = expr.id.lower()
            if lowered in CONSTANTS:
                return CONSTANTS[lowered]
            return SymbolValue(expr.id, expr.span)
        if isinstance(expr, ast.TupleExpr):
            return tuple(self.eval(item, env) for item in expr.items)
        if isinstance(expr, ast.ListExpr):
            return [self.eval(item, env) for item in expr.items]
        if isinstance(expr, ast.BinOp):
            return self._binop(expr, env)
        if isinstance(expr, ast.UnaryOp):
            value = self.eval(expr.operand, env)
            if not _is_number(value):
                raise InvalidValueError(f"cannot negate {describe(value)}", expr.span)
            return -value
        if isinstance(expr, ast.Call):
            if expr.func.upper() == "HPO":
                return self._hpo(expr, env)
            args = tuple((self.eval(a.value, env), a.span) for a in expr.args if a.name is None)
            kwargs = tuple((a.name, self.eval(a.value, env), a.span) for a in expr.args if a.name is not None)
            self._check_order(expr)
            return CallValue(expr.func, args, kwargs, expr.span, expr.func_span)
        raise NeuralSyntaxError(f"unsupported expression {expr!r}")

    @staticmethod
    def _check_order(expr: ast.Call) -> None:
        named_seen = False
        for a in expr.args:
            if a.name is not None:
                named_seen = True
            elif named_seen:
                raise NeuralSyntaxError("positional argument after a named one", a.span)

    def _binop(self, expr: ast.BinOp, env: Mapping[str, Any]) -> Any:
        left = self.eval(expr.left, env)
        right = self.eval(expr.right, env)
        if not (_is_number(left) and _is_number(right)):
            raise InvalidValueError(f"cannot compute {describe(left)} {expr.op} {describe(right)}", expr.span)
        if expr.op in ("/", "//", "%") and right == 0:
            raise InvalidValueError("division by zero", expr.span)
        if expr.op == "+":
            return left + right
        if expr.op == "-":
            return left - right
        if expr.op == "*":
            result = left * right
            if isinstance(result, int) and abs(result) > 10**30:
                raise InvalidValueError("number too large", expr.span)
            return result
        if expr.op == "/":
            return left / right
        if expr.op == "//":
            return left // right
        return left % right

    def _hpo(self, expr: ast.Call, env: Mapping[str, Any]) -> Any:
        if len(expr.args) != 1 or expr.args[0].name is not None:
            raise InvalidValueError(
                "HPO takes one search space: choice(...), range(low, high, step=...) or log_range(low, high)", expr.span
            )
        inner = expr.args[0].value
        if isinstance(inner, ast.ListExpr):
            options = tuple(self.eval(i, env) for i in inner.items)
            space = _choice(options, expr.span)
        elif isinstance(inner, ast.Call):
            space = self._space(inner, env)
        else:
            raise InvalidValueError(
                "HPO takes a search space: choice(...), range(low, high, step=...) or log_range(low, high)",
                expr.span,
            )
        return self.hpo.choose(site_key(expr.span), space, expr.span)

    def _space(self, call: ast.Call, env: Mapping[str, Any]) -> HpoSpace:
        func = call.func.lower()
        positional = [self.eval(a.value, env) for a in call.args if a.name is None]
        named = {a.name: self.eval(a.value, env) for a in call.args if a.name is not None}
        if func in ("choice", "categorical"):
            if named:
                raise InvalidValueError("choice(...) takes only values", call.span)
            return _choice(tuple(positional), call.span)
        if func in ("range", "log_range", "logrange", "uniform", "loguniform"):
            log = func in ("log_range", "logrange", "loguniform")
            names = ["low", "high"] + ([] if log else ["step"])
            values = dict(zip(names, positional))
            for key, value in named.items():
                if key not in names or key in values:
                    raise InvalidValueError(
                        f"{call.func}() has no argument `{key}`" if key not in names else f"`{key}` given twice",
                        call.span,
                    )
                values[key] = value
            if "low" not in values or "high" not in values:
                raise InvalidValueError(f"{call.func}() needs low and high", call.span)
            low, high, step = values["low"], values["high"], values.get("step")
            for v in (low, high) + ((step,) if step is not None else ()):
                if not _is_number(v):
                    raise InvalidValueError(f"{call.func}() bounds must be numbers; received {describe(v)}", call.span)
            if not low < high:
                raise InvalidValueError(f"{call.func}() needs low < high; received {low} and {high}", call.span)
            if step is not None and step <= 0:
                raise InvalidValueError(f"{call.func}() step must be positive; received {step}", call.span)
            if log:
                if low <= 0:
                    raise InvalidValueError(f"log_range() needs positive bounds; received {low}", call.span)
                return HpoSpace("log_range", low=low, high=high)
            return HpoSpace("range", low=low, high=high, step=step)
        raise InvalidValueError(
            f"unknown search space `{call.func}`",
            call.func_span,
            hint="use choice(...), range(low, high, step=...) or log_range(low, high)",
        )


def _choice(options: tuple[Any, ...], span: Span) -> HpoSpace:
    if not options:
        raise InvalidValueError("choice() needs at least one value", span)
    return HpoSpace("choice", options=options)


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and not (isinstance(value, float) and math.isnan(value))
    )
