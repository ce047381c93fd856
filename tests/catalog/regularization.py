"""Random layers: the identity outside training (compare() steps such networks in evaluation mode)."""

from __future__ import annotations

from catalog.base import case

CASES = [
    case("Dropout(0.3)\nDense(2)", (4,)),
    case("AlphaDropout(0.3)\nDense(2)", (4,)),
    case("GaussianNoise(0.3)\nDense(2)", (4,)),
    case("GaussianDropout(0.3)\nDense(2)", (4,)),
    case("Dense(4)\nAlphaDropout(0.3)\nGaussianNoise(0.3)\nGaussianDropout(0.3)\nDense(2)", (4,)),
    case("SpatialDropout1D(0.3)\nFlatten()\nDense(2)", (5, 3)),
    case("Conv1D(3, 1)\nSpatialDropout1D(0.5)\nFlatten()\nDense(2)", (6, 2)),
    case("SpatialDropout2D(0.3)\nFlatten()\nDense(2)", (3, 4, 4), layout="channels_first"),
    case("Conv2D(3, 1)\nSpatialDropout2D(0.5)\nFlatten()\nDense(2)", (3, 5, 4), layout="channels_first"),
    case("SpatialDropout3D(0.3)\nFlatten()\nDense(2)", (3, 4, 4, 2)),
    case("Conv3D(3, 1)\nSpatialDropout3D(0.5)\nFlatten()\nDense(2)", (3, 3, 3, 2)),
]
