"""Batch, layer, instance and group normalization: arguments, axes, ranks, both layouts, open lengths.
Each case ends in a Dense layer, so that every normalization parameter gets a gradient; the training step
(in training mode) also compares the running statistics it updates."""

from __future__ import annotations

from catalog.base import case

CF = "channels_first"
TAIL = "\nFlatten()\nDense(2)"

CASES = [
    # BatchNormalization: BatchNorm1d/2d/3d, momentum and epsilon, center/scale, axis, ranks, layouts
    case("BatchNormalization()\nDense(2)", (8,)),
    case("BatchNormalization(momentum=0.5, epsilon=0.01)" + TAIL, (6, 4)),
    case("BatchNormalization()\nDense(2)", (None, None, 4)),
    case("BatchNormalization()" + TAIL, (4, 4, 3)),
    case("BatchNormalization(momentum=0.99, eps=0.001)" + TAIL, (4, 4, 3)),
    case("BatchNormalization(scale=false)" + TAIL, (4, 4, 3)),
    case("BatchNormalization(center=false)" + TAIL, (4, 4, 3)),
    case("BatchNormalization(affine=false)" + TAIL, (4, 4, 3)),
    case("BatchNormalization(axis=1)" + TAIL, (4, 4, 3)),
    case("BatchNormalization(axis=-1, center=false)" + TAIL, (4, 4, 3)),
    case("BatchNormalization(2)" + TAIL, (3, 4, 4, 2)),
    case("BatchNormalization()" + TAIL, (2, 3, 2, 3, 2)),
    case("BatchNormalization(axis=1)" + TAIL, (2, 3, 2, 3, 2)),
    case("BatchNormalization()" + TAIL, (3, 4, 4), layout=CF),
    case("BatchNormalization(axis=-1, scale=false)" + TAIL, (3, 4, 4), layout=CF),
    case("BatchNormalization()" + TAIL, (3, 6), layout=CF),
    # LayerNormalization: trailing shapes, center/scale, epsilon, layouts
    case("LayerNormalization()\nDense(2)", (6,)),
    case("LayerNormalization()\nDense(2)", (None, None, 4)),
    case("LayerNormalization()" + TAIL, (4, 4, 3)),
    case("LayerNormalization(axis=(-2, -1), epsilon=0.001)" + TAIL, (4, 4, 3)),
    case("LayerNormalization((4, 4, 3), center=false)" + TAIL, (4, 4, 3)),
    case("LayerNormalization(scale=false)" + TAIL, (4, 4, 3)),
    case("LayerNormalization(elementwise_affine=false)" + TAIL, (4, 4, 3)),
    case("LayerNormalization(scale=false)" + TAIL, (3, 4, 4), layout=CF),
    # InstanceNormalization: affine, center/scale, running statistics with momentum, axis, ranks, layouts
    case("InstanceNormalization()" + TAIL, (4, 4, 3)),
    case("InstanceNormalization(affine=true, epsilon=0.001)" + TAIL, (6, 3)),
    case("InstanceNormalization(scale=true, epsilon=0.001)" + TAIL, (6, 3)),
    case("InstanceNormalization(affine=true)\nDense(2)", (None, None, 3)),
    case("InstanceNormalization(scale=true)" + TAIL, (4, 4, 3)),
    case("InstanceNormalization(center=true)" + TAIL, (4, 4, 3)),
    case("InstanceNormalization(track_running_stats=true, momentum=0.7)" + TAIL, (4, 4, 3)),
    case("InstanceNormalization(axis=0, affine=true, track_running_stats=true)" + TAIL, (4, 4, 3)),
    case("InstanceNormalization(axis=1, affine=true)" + TAIL, (4, 4, 3)),
    case("InstanceNormalization(affine=true)" + TAIL, (3, 4, 4, 2)),
    case("InstanceNormalization(affine=true, track_running_stats=true)" + TAIL, (2, 3, 2, 3, 2)),
    case("InstanceNormalization()" + TAIL, (3, 4, 4), layout=CF),
    case("InstanceNormalization(affine=true)" + TAIL, (3, 4, 4), layout=CF),
    case("InstanceNormalization(track_running_stats=true)" + TAIL, (3, 4, 4), layout=CF),
    case("InstanceNormalization()", (None, 5, None), loss=None),  # channels unknown: no parameters, no step
    # GroupNormalization: groups, center/scale, epsilon, axis, ranks, layouts
    case("GroupNormalization(4)\nDense(2)", (8,)),
    case("GroupNormalization(2)" + TAIL, (6, 4)),
    case("GroupNormalization(2)\nDense(2)", (None, None, 4)),
    case("GroupNormalization(3)" + TAIL, (4, 4, 6)),
    case("GroupNormalization(3, center=false, epsilon=0.001)" + TAIL, (4, 4, 6)),
    case("GroupNormalization(1, scale=false)" + TAIL, (4, 4, 6)),
    case("GroupNormalization(6, affine=false)" + TAIL, (4, 4, 6)),
    case("GroupNormalization(2, axis=1)" + TAIL, (4, 6, 4)),
    case("GroupNormalization(2)" + TAIL, (2, 3, 2, 4)),
    case("GroupNormalization(3)" + TAIL, (6, 4, 4), layout=CF),
    case("GroupNormalization(3, scale=false)" + TAIL, (6, 4, 4), layout=CF),
    # chains: norms on a channels-first flow, then a layer norm on the channels-last view
    case(
        "BatchNormalization()\nGroupNormalization(2)\nInstanceNormalization(affine=true)\nLayerNormalization()" + TAIL,
        (4, 4, 4),
    ),
    case(
        "Conv2D(4, 1)\nBatchNormalization()\nGroupNormalization(2)\nInstanceNormalization(affine=true)\nLayerNormalization()"
        + TAIL,
        (4, 4, 4),
        layout=CF,
    ),
]
