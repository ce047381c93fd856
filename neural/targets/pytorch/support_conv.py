"""Support definitions for the convolution, pooling and resizing families (copied into generated modules
that use them)."""

from __future__ import annotations

from neural.targets.pytorch.support import helper

helper(
    "SeparableConv",
    '''
class SeparableConv(nn.Module):
    """Depthwise-separable convolution for 1 to 3 spatial dims (channels first).

    `depthwise`: one filter set per input channel (depth_multiplier outputs each, no bias), carrying the
    stride, padding and dilation; `pointwise`: a 1x1 convolution to out_channels.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, ...],
        stride: int | tuple[int, ...] = 1,
        padding: str | int | tuple[int, ...] = 0,
        dilation: int | tuple[int, ...] = 1,
        depth_multiplier: int = 1,
        bias: bool = True,
        dims: int = 2,
    ) -> None:
        super().__init__()
        conv = (nn.Conv1d, nn.Conv2d, nn.Conv3d)[dims - 1]
        inner = in_channels * depth_multiplier
        self.depthwise = conv(
            in_channels, inner, kernel_size, stride, padding, dilation, groups=in_channels, bias=False
        )
        self.pointwise = conv(inner, out_channels, 1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))
''',
)

helper(
    "avg_pool_padded",
    '''
def avg_pool_padded(x: torch.Tensor, pool: nn.Module, pads: tuple[int, ...]) -> torch.Tensor:
    """`pool` (an nn.AvgPoolNd) over `x` zero-padded by `pads` (F.pad order), the padding left out of each average."""
    ones = torch.ones_like(x[:1, :1])
    return pool(F.pad(x, pads)) / pool(F.pad(ones, pads))
''',
)

helper(
    "avg_pool_same",
    '''
def avg_pool_same(x: torch.Tensor, pool: nn.Module, kernel: tuple[int, ...], stride: tuple[int, ...]) -> torch.Tensor:
    """`pool` (an nn.AvgPoolNd) with TensorFlow's padding="same", the padding left out of each average."""
    dilation = (1,) * len(kernel)
    ones = torch.ones_like(x[:1, :1])
    return pool(same_pad(x, kernel, stride, dilation)) / pool(same_pad(ones, kernel, stride, dilation))
''',
    requires=("same_pad",),
)
