"""Support definitions for the structure family (copied into generated modules that use them)."""

from __future__ import annotations

from neural.targets.pytorch.support import helper

helper(
    "SqueezeExcitation",
    '''
class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation as torchvision.ops.SqueezeExcitation, for 1 to 3 spatial dims (channels first).

    scale = gate(fc2(activation(fc1(mean over the spatial axes)))), fc1 and fc2 1x1 convolutions; returns x * scale.
    """

    def __init__(
        self,
        channels: int,
        squeeze_channels: int,
        activation: nn.Module | Callable[[torch.Tensor], torch.Tensor],
        gate: nn.Module,
        dims: int = 2,
    ) -> None:
        super().__init__()
        conv = (nn.Conv1d, nn.Conv2d, nn.Conv3d)[dims - 1]
        self.fc1 = conv(channels, squeeze_channels, 1)
        self.fc2 = conv(squeeze_channels, channels, 1)
        self.activation = activation
        self.gate = gate
        self.spatial = tuple(range(2, 2 + dims))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = x.mean(dim=self.spatial, keepdim=True)
        return x * self.gate(self.fc2(self.activation(self.fc1(scale))))
''',
)
