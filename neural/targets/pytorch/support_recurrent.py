"""Support definitions of the recurrent layers, copied into generated modules that use them.

- `keras_rnn` / `keras_bidirectional`: run a one-layer, batch-first torch recurrent module from zero
  states with Keras' options (go_backwards, input dropout) and return the spec's outputs in Keras order.
- `sequence_dropout`: Keras' recurrent input dropout (one mask per sample and feature, shared by all steps).
- `RecurrentLoop`: SimpleRNN/LSTM/GRU as a loop over time for activations torch's modules do not offer,
  with torch's parameter names, inputs and outputs (so the helpers above drive it unchanged).
- `ConvLSTM2d` (torch has none) and `conv_lstm_channels_last` (its channels-last entry).
"""

from __future__ import annotations

from neural.targets.pytorch.support import helper

helper(
    "sequence_dropout",
    '''
def sequence_dropout(x: torch.Tensor, rate: float) -> torch.Tensor:
    """Inverted dropout on (N, T, ...) with one mask per sample and feature, shared by every time step."""
    keep = 1.0 - rate
    mask = torch.bernoulli(x.new_full((x.shape[0], 1, *x.shape[2:]), keep))
    return x * mask / keep
''',
)

helper(
    "keras_rnn",
    '''
def keras_rnn(
    rnn: nn.Module,
    x: torch.Tensor,
    return_sequences: bool = False,
    return_state: bool = False,
    go_backwards: bool = False,
    dropout: float = 0.0,
) -> Any:
    """Run a one-layer, batch-first recurrent module from zero states, as Keras' recurrent layers do.

    `go_backwards` reads the sequence from its end (the outputs stay in processed order); `dropout` drops
    input features while training, one mask per sample for all steps. Returns the output sequence (or its
    last step), then with `return_state` the final h (and c for an LSTM).
    """
    if go_backwards:
        x = x.flip(1)
    if dropout and rnn.training:
        x = sequence_dropout(x, dropout)
    output, state = rnn(x)
    result = output if return_sequences else output[:, -1]
    if not return_state:
        return result
    states = state if isinstance(state, tuple) else (state,)
    return (result, *(s[0] for s in states))
''',
    requires=("sequence_dropout",),
)

helper(
    "keras_bidirectional",
    '''
def keras_bidirectional(
    rnn: nn.Module,
    x: torch.Tensor,
    merge_mode: str | None = "concat",
    return_sequences: bool = False,
    return_state: bool = False,
    go_backwards: bool = False,
    dropout: float = 0.0,
) -> Any:
    """Run a one-layer, batch-first, bidirectional recurrent module from zero states, as Keras' Bidirectional.

    The backward outputs are aligned with the input steps. `merge_mode` "concat", "sum", "mul" or "ave"
    merges the two directions; None returns both. With `return_state` the forward final states follow,
    then the backward ones. While training with `dropout` each direction draws its own input mask (as
    Keras' two layers do): the batch runs twice, the forward direction read from the first copy and the
    backward one from the second.
    """
    if go_backwards:
        x = x.flip(1)
    batch = x.shape[0]
    if dropout and rnn.training:
        x = torch.cat([sequence_dropout(x, dropout), sequence_dropout(x, dropout)])
    output, state = rnn(x)
    hidden = output.shape[-1] // 2
    forward, backward = output[:batch, :, :hidden], output[-batch:, :, hidden:]
    if not return_sequences:
        forward, backward = forward[:, -1], backward[:, 0]
    if merge_mode is None:
        merged: tuple[torch.Tensor, ...] = (forward, backward)
    elif merge_mode == "concat":
        merged = (torch.cat([forward, backward], dim=-1),)
    elif merge_mode == "sum":
        merged = (forward + backward,)
    elif merge_mode == "mul":
        merged = (forward * backward,)
    else:
        merged = ((forward + backward) / 2,)
    if not return_state:
        return merged[0] if len(merged) == 1 else merged
    states = state if isinstance(state, tuple) else (state,)
    return (*merged, *(s[0, :batch] for s in states), *(s[1, -batch:] for s in states))
''',
    requires=("sequence_dropout",),
)

helper(
    "RecurrentLoop",
    '''
class RecurrentLoop(nn.Module):
    """A one-layer, batch-first RNN, LSTM or GRU (`mode`) written as a loop over time, for activations
    torch.nn.RNN/LSTM/GRU do not offer.

    Parameters, inputs and outputs are those of the torch module: weight_ih_l0, weight_hh_l0, bias_ih_l0,
    bias_hh_l0 (and `_reverse` copies when bidirectional), gate blocks i, f, g, o (LSTM) and r, z, n (GRU,
    the reset gate applied to W_hn h + b_hn); returns (output, h_n) or, for an LSTM, (output, (h_n, c_n)).
    """

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        bidirectional: bool = False,
        activation: Callable[[torch.Tensor], torch.Tensor] = torch.tanh,
        recurrent_activation: Callable[[torch.Tensor], torch.Tensor] = torch.sigmoid,
    ) -> None:
        super().__init__()
        self.mode, self.hidden_size = mode, hidden_size
        self.activation, self.recurrent_activation = activation, recurrent_activation
        self.directions = ["_l0", "_l0_reverse"] if bidirectional else ["_l0"]
        rows = {"RNN": 1, "LSTM": 4, "GRU": 3}[mode] * hidden_size
        shapes = {"weight_ih": (rows, input_size), "weight_hh": (rows, hidden_size)}
        if bias:
            shapes |= {"bias_ih": (rows,), "bias_hh": (rows,)}
        bound = 1 / math.sqrt(hidden_size)
        for suffix in self.directions:
            for name, shape in shapes.items():
                self.register_parameter(name + suffix, nn.Parameter(torch.empty(shape).uniform_(-bound, bound)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, Any]:
        outputs, finals = [], []
        for suffix in self.directions:
            reverse = suffix.endswith("reverse")
            weight_ih, weight_hh = getattr(self, "weight_ih" + suffix), getattr(self, "weight_hh" + suffix)
            bias_ih, bias_hh = getattr(self, "bias_ih" + suffix, None), getattr(self, "bias_hh" + suffix, None)
            inputs = F.linear(x.flip(1) if reverse else x, weight_ih, bias_ih)
            h = x.new_zeros(x.shape[0], self.hidden_size)
            state = (h, h) if self.mode == "LSTM" else (h,)
            steps = []
            for step in inputs.unbind(1):
                state = self.cell(step, F.linear(state[0], weight_hh, bias_hh), state)
                steps.append(state[0])
            output = torch.stack(steps, 1)
            outputs.append(output.flip(1) if reverse else output)
            finals.append(state)
        h_n = torch.stack([s[0] for s in finals])
        if self.mode == "LSTM":
            return torch.cat(outputs, -1), (h_n, torch.stack([s[1] for s in finals]))
        return torch.cat(outputs, -1), h_n

    def cell(self, x: torch.Tensor, a: torch.Tensor, state: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        """One step from the input projection `x` and the recurrent one `a` (biases included, gates stacked)."""
        act, gate = self.activation, self.recurrent_activation
        if self.mode == "RNN":
            return (act(x + a),)
        if self.mode == "LSTM":
            i, f, g, o = (x + a).chunk(4, dim=-1)
            c = gate(f) * state[1] + gate(i) * act(g)
            return gate(o) * act(c), c
        x_r, x_z, x_n = x.chunk(3, dim=-1)
        a_r, a_z, a_n = a.chunk(3, dim=-1)
        r, z = gate(x_r + a_r), gate(x_z + a_z)
        n = act(x_n + r * a_n)
        return ((1 - z) * n + z * state[0],)
''',
)

helper(
    "ConvLSTM2d",
    '''
class ConvLSTM2d(nn.Module):
    """Keras' ConvLSTM2D, channels first: an LSTM whose input and recurrent transforms are 2-D convolutions.

    Input (N, T, C, H, W); returns the hidden states of every step (N, T, filters, H', W') and the final
    (h, c), each (1, N, filters, H', W'), as torch.nn.LSTM does. Gate blocks i, f, c, o on the rows of
    weight_ih (4 * filters, C, kh, kw), weight_hh (4 * filters, filters, kh, kw) and bias (4 * filters,).
    The input convolution has the layer's stride, padding and dilation (TensorFlow's "same": any odd
    padding pixel at the end); the recurrent one has stride 1 and "same" padding.
    """

    def __init__(
        self,
        in_channels: int,
        filters: int,
        kernel_size: tuple[int, int],
        stride: tuple[int, int] = (1, 1),
        padding: str = "valid",
        dilation: tuple[int, int] = (1, 1),
        bias: bool = True,
        activation: Callable[[torch.Tensor], torch.Tensor] = torch.tanh,
        recurrent_activation: Callable[[torch.Tensor], torch.Tensor] = torch.sigmoid,
    ) -> None:
        super().__init__()
        self.filters, self.kernel_size = filters, kernel_size
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.activation, self.recurrent_activation = activation, recurrent_activation
        bound = 1 / math.sqrt(filters)
        self.weight_ih = nn.Parameter(torch.empty(4 * filters, in_channels, *kernel_size).uniform_(-bound, bound))
        self.weight_hh = nn.Parameter(torch.empty(4 * filters, filters, *kernel_size).uniform_(-bound, bound))
        bias_value = nn.Parameter(torch.empty(4 * filters).uniform_(-bound, bound)) if bias else None
        self.register_parameter("bias", bias_value)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        batch, steps = x.shape[:2]
        frames, padding = x.flatten(0, 1), self.padding
        odd_total = any(d * (k - 1) % 2 for k, d in zip(self.kernel_size, self.dilation))
        if padding == "same" and (max(self.stride) > 1 or odd_total):
            # torch's "same" is for stride 1, and pads an odd total by copying the input: pad explicitly
            frames, padding = same_pad(frames, self.kernel_size, self.stride, self.dilation), "valid"
        inputs = F.conv2d(frames, self.weight_ih, self.bias, self.stride, padding, self.dilation)
        inputs = inputs.unflatten(0, (batch, steps))
        act, gate = self.activation, self.recurrent_activation
        rows, cols = inputs.shape[-2:]
        h = c = inputs.new_zeros(batch, self.filters, rows, cols)
        outputs = []
        odd_kernel = all(k % 2 for k in self.kernel_size)
        for step in inputs.unbind(1):
            if odd_kernel:
                recurrent = F.conv2d(h, self.weight_hh, padding="same")
            else:
                recurrent = F.conv2d(same_pad(h, self.kernel_size, (1, 1), (1, 1)), self.weight_hh)
            i, f, g, o = (step + recurrent).chunk(4, dim=1)
            c = gate(f) * c + gate(i) * act(g)
            h = gate(o) * act(c)
            outputs.append(h)
        return torch.stack(outputs, 1), (h[None], c[None])
''',
    requires=("same_pad",),
)

helper(
    "conv_lstm_channels_last",
    '''
def conv_lstm_channels_last(conv_lstm: nn.Module, x: torch.Tensor, **options: Any) -> Any:
    """`keras_rnn(conv_lstm, ...)` on channels-last frames (N, T, H, W, C); outputs channels-last too."""
    result = keras_rnn(conv_lstm, x.movedim(-1, 2), **options)
    if isinstance(result, tuple):
        return tuple(r.movedim(-3, -1) for r in result)
    return result.movedim(-3, -1)
''',
    requires=("keras_rnn",),
)
