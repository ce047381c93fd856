"""Support definitions of the recurrent layers, copied into generated modules that use them.

Flax's cells keep one bias per gate and their own gate layout; the language counts and names
parameters as PyTorch does (two biases, torch's gate order), so the cells are written here:
- `RNN`: SimpleRNN / LSTM / GRU over batch-major sequences with `ih` and `hh` (nnx.Linear, each with
  its bias: torch's weight_ih/bias_ih and weight_hh/bias_hh), a lax.scan over time, and Keras'
  options (return_sequences, return_state, go_backwards, input dropout with one mask per sample and
  feature shared by every step).
- `Bidirectional`: two `RNN`s (`forward_layer`, `backward_layer`: torch's `_l0` and `_l0_reverse`), the
  backward outputs aligned with the input steps, merged as Keras' merge_mode says.
- `ConvLSTM2D`: Keras' ConvLSTM2D (channels-last frames; `channels_first` moves them inside).
"""

from __future__ import annotations

from neural.targets.jax.support import helper

helper(
    "sequence_dropout",
    '''
def sequence_dropout(x: jax.Array, rate: float, key: jax.Array) -> jax.Array:
    """Inverted dropout on (N, T, ...) with one mask per sample and feature, shared by every time step."""
    keep = 1.0 - rate
    mask = jax.random.bernoulli(key, keep, (x.shape[0], 1, *x.shape[2:]))
    return jnp.where(mask, x / keep, 0.0)
''',
)

helper(
    "RNN",
    '''
class RNN(nnx.Module):
    """A one-layer recurrent network over (N, T, features), PyTorch's cells, Keras' options.

    mode "RNN": h = act(ih(x) + hh(h)); "LSTM": gates i, f, g, o of ih(x) + hh(h), c = f * c + i * act(g),
    h = o * act(c); "GRU": gates r, z, n, n = act(ih_n(x) + r * hh_n(h)), h = (1 - z) * n + z * h; gates by
    `recurrent_activation`. From zero states. Returns the outputs (every step with return_sequences, else the
    last) and, with return_state, the final h (and c).
    """

    def __init__(
        self,
        mode: str,
        in_features: int,
        hidden: int,
        *,
        use_bias: bool = True,
        activation: Callable[[jax.Array], jax.Array] = jnp.tanh,
        recurrent_activation: Callable[[jax.Array], jax.Array] = jax.nn.sigmoid,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        dropout: float = 0.0,
        rngs: nnx.Rngs,
    ) -> None:
        gates = {"RNN": 1, "LSTM": 4, "GRU": 3}[mode]
        self.mode, self.hidden = mode, hidden
        self.activation, self.recurrent_activation = activation, recurrent_activation
        self.return_sequences, self.return_state, self.go_backwards = return_sequences, return_state, go_backwards
        self.dropout, self.deterministic = dropout, False
        self.ih = nnx.Linear(in_features, gates * hidden, use_bias=use_bias, rngs=rngs)
        self.hh = nnx.Linear(hidden, gates * hidden, use_bias=use_bias, rngs=rngs)
        self.rngs = rngs["dropout"].fork() if dropout else None

    def scan(self, x: jax.Array, reverse: bool = False) -> tuple[jax.Array, tuple[jax.Array, ...]]:
        """All steps from zero states (`reverse`: from the last step to the first, outputs in input order)."""
        inputs = jnp.swapaxes(self.ih(x), 0, 1)  # (T, N, G * H)
        kernel = self.hh.kernel[...]
        bias = self.hh.bias[...] if self.hh.bias is not None else 0.0
        zeros = jnp.zeros((x.shape[0], self.hidden), inputs.dtype)
        state = (zeros, zeros) if self.mode == "LSTM" else (zeros,)

        def step(state: tuple[jax.Array, ...], projected: jax.Array) -> tuple[tuple[jax.Array, ...], jax.Array]:
            state = self.cell(projected, state[0] @ kernel + bias, state)
            return state, state[0]

        state, outputs = lax.scan(step, state, inputs, reverse=reverse)
        return jnp.swapaxes(outputs, 0, 1), state

    def cell(self, x: jax.Array, a: jax.Array, state: tuple[jax.Array, ...]) -> tuple[jax.Array, ...]:
        """One step from the input projection `x` and the recurrent one `a` (biases included, gates stacked)."""
        act, gate = self.activation, self.recurrent_activation
        if self.mode == "RNN":
            return (act(x + a),)
        if self.mode == "LSTM":
            i, f, g, o = jnp.split(x + a, 4, axis=-1)
            c = gate(f) * state[1] + gate(i) * act(g)
            return gate(o) * act(c), c
        x_r, x_z, x_n = jnp.split(x, 3, axis=-1)
        a_r, a_z, a_n = jnp.split(a, 3, axis=-1)
        r, z = gate(x_r + a_r), gate(x_z + a_z)
        n = act(x_n + r * a_n)
        return ((1 - z) * n + z * state[0],)

    def __call__(self, x: jax.Array) -> Any:
        if self.go_backwards:
            x = jnp.flip(x, axis=1)
        if self.dropout and not self.deterministic:
            x = sequence_dropout(x, self.dropout, self.rngs())
        outputs, state = self.scan(x)
        result = outputs if self.return_sequences else outputs[:, -1]
        return (result, *state) if self.return_state else result
''',
    requires=("sequence_dropout",),
)

helper(
    "Bidirectional",
    '''
class Bidirectional(nnx.Module):
    """Keras' Bidirectional over two `RNN`s: `forward_layer` reads the sequence forwards, `backward_layer`
    backwards (its outputs aligned with the input steps). merge_mode "concat", "sum", "mul" or "ave" merges the
    two; None returns both. With return_state the forward final states follow, then the backward ones. Each
    direction draws its own input dropout mask.
    """

    def __init__(
        self,
        mode: str,
        in_features: int,
        hidden: int,
        *,
        merge_mode: str | None = "concat",
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        dropout: float = 0.0,
        rngs: nnx.Rngs,
        **cell: Any,
    ) -> None:
        self.forward_layer = RNN(mode, in_features, hidden, rngs=rngs, **cell)
        self.backward_layer = RNN(mode, in_features, hidden, rngs=rngs, **cell)
        self.merge_mode, self.return_sequences, self.return_state = merge_mode, return_sequences, return_state
        self.go_backwards, self.dropout, self.deterministic = go_backwards, dropout, False
        self.rngs = rngs["dropout"].fork() if dropout else None

    def __call__(self, x: jax.Array) -> Any:
        if self.go_backwards:
            x = jnp.flip(x, axis=1)
        x_forward = x_backward = x
        if self.dropout and not self.deterministic:
            x_forward = sequence_dropout(x, self.dropout, self.rngs())
            x_backward = sequence_dropout(x, self.dropout, self.rngs())
        forward, forward_state = self.forward_layer.scan(x_forward)
        backward, backward_state = self.backward_layer.scan(x_backward, reverse=True)
        if not self.return_sequences:
            forward, backward = forward[:, -1], backward[:, 0]
        if self.merge_mode is None:
            merged: tuple[jax.Array, ...] = (forward, backward)
        elif self.merge_mode == "concat":
            merged = (jnp.concatenate([forward, backward], axis=-1),)
        elif self.merge_mode == "sum":
            merged = (forward + backward,)
        elif self.merge_mode == "mul":
            merged = (forward * backward,)
        else:
            merged = ((forward + backward) / 2,)
        if not self.return_state:
            return merged[0] if len(merged) == 1 else merged
        return (*merged, *forward_state, *backward_state)
''',
    requires=("RNN",),
)

helper(
    "ConvLSTM2D",
    '''
class ConvLSTM2D(nnx.Module):
    """Keras' ConvLSTM2D over (N, T, rows, cols, channels): an LSTM whose input and recurrent transforms are
    2-D convolutions (gate blocks i, f, c, o; one bias on the input transform). The input convolution has
    the layer's strides, padding ("VALID" or "SAME", TensorFlow's rule) and dilation; the recurrent one stride
    1 and "SAME". Kernels are HWIO: kernel_ih (kh, kw, channels, 4 * filters), kernel_hh (kh, kw, filters,
    4 * filters). With `channels_first` the frames are (channels, rows, cols) outside the layer.
    """

    def __init__(
        self,
        in_channels: int,
        filters: int,
        kernel_size: tuple[int, int],
        strides: tuple[int, int] = (1, 1),
        *,
        padding: str = "VALID",
        kernel_dilation: tuple[int, int] = (1, 1),
        use_bias: bool = True,
        activation: Callable[[jax.Array], jax.Array] = jnp.tanh,
        recurrent_activation: Callable[[jax.Array], jax.Array] = jax.nn.sigmoid,
        return_sequences: bool = False,
        return_state: bool = False,
        go_backwards: bool = False,
        dropout: float = 0.0,
        channels_first: bool = False,
        rngs: nnx.Rngs,
    ) -> None:
        bound = 1 / math.sqrt(filters)
        rows = 4 * filters
        self.kernel_ih = nnx.Param(jax.random.uniform(rngs.params(), (*kernel_size, in_channels, rows), minval=-bound, maxval=bound))
        self.kernel_hh = nnx.Param(jax.random.uniform(rngs.params(), (*kernel_size, filters, rows), minval=-bound, maxval=bound))
        self.bias = nnx.Param(jnp.zeros((rows,))) if use_bias else None
        self.filters, self.strides, self.padding, self.kernel_dilation = filters, strides, padding, kernel_dilation
        self.activation, self.recurrent_activation = activation, recurrent_activation
        self.return_sequences, self.return_state, self.go_backwards = return_sequences, return_state, go_backwards
        self.dropout, self.deterministic, self.channels_first = dropout, False, channels_first
        self.rngs = rngs["dropout"].fork() if dropout else None

    def __call__(self, x: jax.Array) -> Any:
        if self.channels_first:
            x = jnp.moveaxis(x, 2, -1)
        if self.go_backwards:
            x = jnp.flip(x, axis=1)
        if self.dropout and not self.deterministic:
            x = sequence_dropout(x, self.dropout, self.rngs())
        batch, steps = x.shape[:2]
        spec = ("NHWC", "HWIO", "NHWC")
        frames = x.reshape(batch * steps, *x.shape[2:])
        inputs = lax.conv_general_dilated(
            frames, self.kernel_ih[...], self.strides, self.padding, rhs_dilation=self.kernel_dilation, dimension_numbers=spec
        )
        if self.bias is not None:
            inputs = inputs + self.bias[...]
        inputs = jnp.swapaxes(inputs.reshape(batch, steps, *inputs.shape[1:]), 0, 1)  # (T, N, rows, cols, 4F)
        kernel_hh = self.kernel_hh[...]
        act, gate = self.activation, self.recurrent_activation
        zeros = jnp.zeros((*inputs.shape[1:-1], self.filters), inputs.dtype)

        def step(state: tuple[jax.Array, jax.Array], projected: jax.Array) -> tuple[tuple[jax.Array, jax.Array], jax.Array]:
            h, c = state
            recurrent = lax.conv_general_dilated(h, kernel_hh, (1, 1), "SAME", dimension_numbers=spec)
            i, f, g, o = jnp.split(projected + recurrent, 4, axis=-1)
            c = gate(f) * c + gate(i) * act(g)
            h = gate(o) * act(c)
            return (h, c), h

        (h, c), outputs = lax.scan(step, (zeros, zeros), inputs)
        outputs = jnp.swapaxes(outputs, 0, 1)
        result = outputs if self.return_sequences else outputs[:, -1]
        if self.channels_first:
            result, h, c = jnp.moveaxis(result, -1, -3), jnp.moveaxis(h, -1, 1), jnp.moveaxis(c, -1, 1)
        return (result, h, c) if self.return_state else result
''',
    requires=("sequence_dropout",),
)
