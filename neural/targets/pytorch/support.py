"""Support definitions that generated PyTorch modules include when their layers need them: functions and
nn.Module classes as source text (no DSL text inside), registered with `helper` here and in the support_*
modules of the layer families (the registry: common/support.py)."""

from __future__ import annotations

from neural.targets.common.support import HelperRegistry

REGISTRY = HelperRegistry()
helper, helper_sources = REGISTRY.add, REGISTRY.helper_sources
HELPERS, REQUIRES = REGISTRY.sources, REGISTRY.requires  # by name, in definition order


helper(
    "device_or_cpu",
    '''
def device_or_cpu(name: str) -> torch.device:
    """The requested device, or the CPU when it is not available on this machine."""
    device = torch.device(name)
    if device.type == "cuda" and (not torch.cuda.is_available() or (device.index or 0) >= torch.cuda.device_count()):
        return torch.device("cpu")
    if device.type == "mps" and not torch.backends.mps.is_available():
        return torch.device("cpu")
    return device
''',
)

helper(
    "same_pad",
    '''
def same_pad(
    x: torch.Tensor, kernel: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...], value: float = 0.0
) -> torch.Tensor:
    """Pad a channels-first tensor as TensorFlow's padding="same" does (the extra pixel at the end) with `value`."""
    pads: list[int] = []
    for size, k, s, d in reversed(list(zip(x.shape[2:], kernel, stride, dilation))):
        total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads, value=value) if any(pads) else x
''',
)

helper(
    "keras_dot",
    '''
def keras_dot(a: torch.Tensor, b: torch.Tensor, axes: int | tuple[int, int], normalize: bool) -> torch.Tensor:
    """keras.layers.Dot: contract one axis of each input (axes count the batch axis as 0)."""
    axis_a, axis_b = (axes, axes) if isinstance(axes, int) else axes
    axis_a, axis_b = axis_a % a.dim(), axis_b % b.dim()
    if normalize:
        a, b = F.normalize(a, dim=axis_a), F.normalize(b, dim=axis_b)
    a = a.movedim(axis_a, -1).reshape(a.shape[0], -1, a.shape[axis_a])
    rest_b = [size for i, size in enumerate(b.shape) if i not in (0, axis_b)]
    b = b.movedim(axis_b, 1).reshape(b.shape[0], b.shape[axis_b], -1)
    rest_a = [size for i, size in enumerate(a.shape[1:-1])]
    out = torch.bmm(a, b)
    return out.reshape(out.shape[0], *(rest_a + rest_b)) if rest_a + rest_b else out.reshape(-1, 1)
''',
)

helper(
    "gaussian_noise",
    '''
def gaussian_noise(x: torch.Tensor, stddev: float, training: bool) -> torch.Tensor:
    """Add N(0, stddev) noise while training."""
    return x + torch.randn_like(x) * stddev if training and stddev > 0 else x
''',
)

helper(
    "gaussian_dropout",
    '''
def gaussian_dropout(x: torch.Tensor, rate: float, training: bool) -> torch.Tensor:
    """Multiply by N(1, rate / (1 - rate)) noise while training."""
    if not training or rate == 0:
        return x
    return x * (1 + torch.randn_like(x) * math.sqrt(rate / (1 - rate)))
''',
)

from neural.targets.pytorch import (  # noqa: E402, F401  (register their helpers)
    support_attention,
    support_conv,
    support_normalization,
    support_recurrent,
    support_structure,
)
