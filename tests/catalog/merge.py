"""Merge layers on the inputs (shapes as they come), and after Dense layers (gradients through the merge)."""

from __future__ import annotations

from catalog.base import case

MERGES = """
x = Dense(4)(a)
y = Dense(4)(b)
z = Dense(4)(c)
s = Add()(x, y, z)
d = Subtract()(x, y)
m = Multiply()(x, y, z)
v = Average()(x, z)
hi = Maximum()(x, y)
lo = Minimum()(y, z)
dot = Dot(axes=1)(x, y)
cos = Dot(axes=1, normalize=true)(y, z)
Concatenate()(s, d, m, v, hi, lo, dot, cos)
"""

SEQUENCE_MERGES = """
p = Dense(4)(a)
q = Dense(4)(b)
c0 = Concatenate(axis=0)(p, q)
d2 = Dot(axes=(2, 2))(p, q)
f0 = Flatten()(c0)
f2 = Flatten()(d2)
Concatenate()(f0, f2)
"""

CASES = [
    case("Add()(a, b)", (3, 4), (3, 4)),
    case("Add()(a, b, c)", (4,), (4,), (4,)),
    case("Subtract()(a, b)", (4,), (4,)),
    case("Multiply()(a, b)", (3, 4), (3, 4)),
    case("Multiply()(a, b, c)", (4,), (4,), (4,)),
    case("Average()(a, b)", (4,), (4,)),
    case("Maximum()(a, b)", (4,), (4,)),
    case("Minimum()(a, b)", (4,), (4,)),
    case("Concatenate()(a, b)", (3, 4), (3, 2)),
    case("Concatenate(axis=0)(a, b)\nFlatten()\nDense(2)", (3, 4), (2, 4)),
    case("Dot(axes=1)(a, b)", (4,), (4,)),
    case("Dot(axes=2)(a, b)", (3, 4), (3, 4)),
    case("Dot(axes=(2, 2))(a, b)\nFlatten()\nDense(2)", (3, 4), (5, 4)),
    case("Dot(axes=2, normalize=true)(a, b)\nFlatten()\nDense(2)", (3, 4), (5, 4)),
    case("Dot(axes=(1, 1), normalize=true)(a, b)", (3, 4), (3, 4)),
    case(MERGES, (4,), (3,), (5,)),
    case(SEQUENCE_MERGES, (3, 4), (5, 4)),
]
