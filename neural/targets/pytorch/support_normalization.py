"""Support definitions of the normalization layers, copied into generated modules that use them."""

from __future__ import annotations

from neural.targets.pytorch.support import helper

# torch.nn.GroupNorm switches weight and bias together, and F.group_norm's CPU backward fails with a
# bias but no weight ("tensor does not have a device", torch 2.13): the learned parts are applied here.
helper(
    "GroupNorm",
    '''
class GroupNorm(nn.Module):
    """nn.GroupNorm with the learned gain (`weight`) and offset (`bias`) each optional, as Keras' `scale`
    and `center` (torch's module switches them together)."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, scale: bool = True, center: bool = True) -> None:
        super().__init__()
        self.num_groups, self.eps = num_groups, eps
        self.register_parameter("weight", nn.Parameter(torch.ones(num_channels)) if scale else None)
        self.register_parameter("bias", nn.Parameter(torch.zeros(num_channels)) if center else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.group_norm(x, self.num_groups, eps=self.eps)
        shape = (-1,) + (1,) * (x.dim() - 2)  # per channel (dim 1)
        if self.weight is not None:
            x = x * self.weight.view(shape)
        if self.bias is not None:
            x = x + self.bias.view(shape)
        return x
''',
)
