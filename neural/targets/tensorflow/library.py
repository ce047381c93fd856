"""Keras definitions that generated modules copy when their layers need them.

Each top-level function or class below is copied verbatim (by name, with the definitions it uses) into
a generated module, which imports `keras`, `tf`, `np`, `math`, `layers`, `ops`, `Any` and `Callable`
as this file does. They exist where Keras has no layer with the language's exact semantics:

- PyTorch conventions the language keeps: two recurrent biases and torch's gate order (`TorchLSTMCell`
  ...), the unbiased running variance of batch norm, leaky_relu's slope 0.01, an embedding row that
  stays zero, a query that sees no key getting no attention.
- Window arithmetic Keras layers do not offer: explicit and ceil-mode pooling windows, TensorFlow's
  "same" padding at run time, strided dilated convolutions (`Subsample`), grouped or dilated
  transposed convolutions, linear / trilinear up-sampling, instance normalization.
- Composite blocks whose variables carry the canonical (PyTorch) sub-layer names: FeedForward,
  TransformerEncoderLayer, TransformerDecoderLayer, SqueezeExcitation, PositionalEncoding.

Every layer works on channels-last tensors unless it takes a data format; variables of the custom
layers are named and laid out as the canonical weights, so they load without conversion.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

# ---- activations ----


@keras.saving.register_keras_serializable(package="neural")  # Bidirectional rebuilds layers from their config
def leaky_relu(x: Any) -> Any:
    """leaky_relu with PyTorch's slope 0.01 (Keras' default is 0.2)."""
    return ops.leaky_relu(x, negative_slope=0.01)


# ---- normalization ----


class BatchNorm(layers.BatchNormalization):
    """Keras' BatchNormalization with the language's (PyTorch's) defaults, momentum 0.9 (Keras' convention:
    the old value's weight) and epsilon 1e-5, whose moving variance averages the unbiased batch variance as
    PyTorch's running_var does (the biased one still normalizes)."""

    def __init__(self, momentum: float = 0.9, epsilon: float = 1e-5, **kwargs: Any) -> None:
        super().__init__(momentum=momentum, epsilon=epsilon, **kwargs)

    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        if not (training and self.trainable):
            return super().call(inputs, training=False)
        axis = self.axis % len(inputs.shape)
        reduced = [i for i in range(len(inputs.shape)) if i != axis]
        mean, variance = ops.moments(inputs, axes=reduced)
        count = ops.cast(ops.size(inputs) // ops.shape(inputs)[axis], inputs.dtype)
        unbiased = variance * count / (count - 1)
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum + unbiased * (1.0 - self.momentum))
        return ops.batch_normalization(
            inputs,
            mean,
            variance,
            axis=axis,
            offset=self.beta if self.center else None,
            scale=self.gamma if self.scale else None,
            epsilon=self.epsilon,
        )


class InstanceNormalization(layers.Layer):
    """Normalizes each channel of each sample over its spatial axes (torch.nn.InstanceNormNd).

    `axis`: the channel axis of the batched tensor. Optional learned `weight` / `bias` (channels,);
    with `track_running_stats`, training also updates `running_mean` / `running_var` (the per-sample
    statistics averaged over the batch, unbiased variance) and inference uses them.
    """

    def __init__(
        self,
        axis: int = -1,
        epsilon: float = 1e-5,
        center: bool = False,
        scale: bool = False,
        track_running_stats: bool = False,
        momentum: float = 0.9,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.axis, self.epsilon, self.center, self.scale = axis, epsilon, center, scale
        self.track_running_stats, self.momentum = track_running_stats, momentum

    def build(self, input_shape: Any) -> None:
        channels = (input_shape[self.axis],)
        if self.scale:
            self.weight = self.add_weight(shape=channels, initializer="ones", name="weight")
        if self.center:
            self.bias = self.add_weight(shape=channels, initializer="zeros", name="bias")
        if self.track_running_stats:
            self.running_mean = self.add_weight(
                shape=channels, initializer="zeros", trainable=False, name="running_mean"
            )
            self.running_var = self.add_weight(shape=channels, initializer="ones", trainable=False, name="running_var")

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        rank = len(inputs.shape)
        axis = self.axis % rank
        spatial = [i for i in range(1, rank) if i != axis]
        shape = [1] * rank
        shape[axis] = -1
        if self.track_running_stats and not training:
            mean, variance = ops.reshape(self.running_mean, shape), ops.reshape(self.running_var, shape)
        else:
            mean, variance = ops.moments(inputs, axes=spatial, keepdims=True)
            if self.track_running_stats:
                count = ops.cast(ops.prod(ops.take(ops.shape(inputs), spatial)), inputs.dtype)
                flat = [0, *spatial]
                unbiased = ops.mean(variance, axis=flat) * count / (count - 1)
                self.running_mean.assign(
                    self.running_mean * self.momentum + ops.mean(mean, axis=flat) * (1.0 - self.momentum)
                )
                self.running_var.assign(self.running_var * self.momentum + unbiased * (1.0 - self.momentum))
        out = (inputs - mean) / ops.sqrt(variance + self.epsilon)
        if self.scale:
            out = out * ops.reshape(self.weight, shape)
        if self.center:
            out = out + ops.reshape(self.bias, shape)
        return out


# ---- convolution, pooling and resizing (channels-last) ----


def _same_pads(size: Any, kernel: int, stride: int, dilation: int) -> tuple[Any, Any]:
    """TensorFlow's "same" padding of one axis: (before, after), the odd pixel after."""
    total = ops.maximum((-(-size // stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


class SamePadding(layers.Layer):
    """Pads the spatial axes of a channels-last tensor as TensorFlow's padding="same" does, computed from
    the input's size at run time (for inputs whose length is known only then)."""

    def __init__(
        self, kernel_size: tuple[int, ...], strides: tuple[int, ...], dilation_rate: tuple[int, ...], **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.kernel_size, self.strides, self.dilation_rate = kernel_size, strides, dilation_rate

    def call(self, inputs: Any) -> Any:
        sizes = ops.shape(inputs)
        pads = [(0, 0)]
        for i, (k, s, d) in enumerate(zip(self.kernel_size, self.strides, self.dilation_rate)):
            pads.append(_same_pads(sizes[i + 1], k, s, d))
        return tf.pad(inputs, [*pads, (0, 0)])


class Subsample(layers.Layer):
    """Keeps every `strides`-th position of each spatial axis (channels last): a strided convolution from a
    stride-1 one, where Keras' convolutions take strides or a dilation but not both."""

    def __init__(self, strides: tuple[int, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.strides = strides

    def call(self, inputs: Any) -> Any:
        index = (slice(None), *(slice(None, None, s) for s in self.strides))
        return inputs[index]


class PaddedPooling(layers.Layer):
    """Max or average pooling (channels last) with what Keras' pooling layers lack: explicit (before, after)
    padding, PyTorch's ceil_mode, and averages that count the padding (count_include_pad).

    Max pooling pads with -inf, so padding never wins. An average divides by the number of counted cells
    of its window: the real ones, the padding too with count_include_pad, never the ceil-mode overhang.
    `padding` is "same" (TensorFlow's split, at run time) or one (before, after) pair per spatial axis.
    """

    def __init__(
        self,
        mode: str,
        pool_size: tuple[int, ...],
        strides: tuple[int, ...],
        padding: Any,
        ceil_mode: bool = False,
        count_include_pad: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.mode, self.pool_size, self.strides, self.padding = mode, pool_size, strides, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def call(self, inputs: Any) -> Any:
        sizes = ops.shape(inputs)
        pads, extra = [], []
        for i, (k, s) in enumerate(zip(self.pool_size, self.strides)):
            n = sizes[i + 1]
            before, after = _same_pads(n, k, s, 1) if self.padding == "same" else self.padding[i]
            padded = n + before + after
            out = (padded - k + (s - 1 if self.ceil_mode else 0)) // s + 1
            if self.ceil_mode:  # no last window that starts in the after-padding
                out = ops.where((out - 1) * s >= n + before, out - 1, out)
            pads.append((before, after))
            extra.append(ops.maximum((out - 1) * s + k - padded, 0))
        full = [(0, 0), *((b, a + e) for (b, a), e in zip(pads, extra)), (0, 0)]
        window = {"window_shape": self.pool_size, "strides": self.strides, "padding": "VALID"}
        if self.mode == "max":
            return tf.nn.pool(tf.pad(inputs, full, constant_values=-math.inf), pooling_type="MAX", **window)
        ones = tf.ones_like(inputs[:1, ..., :1])
        if self.count_include_pad:
            counted = tf.pad(
                tf.pad(ones, [(0, 0), *pads, (0, 0)], constant_values=1.0), [(0, 0), *((0, e) for e in extra), (0, 0)]
            )
        else:
            counted = tf.pad(ones, full)
        total = tf.nn.pool(tf.pad(inputs, full), pooling_type="AVG", **window)
        return total / tf.nn.pool(counted, pooling_type="AVG", **window)


class AdaptiveMaxPooling(layers.Layer):
    """PyTorch's adaptive max pooling (known spatial sizes, either data format): along an axis of n positions
    pooled to m, window i spans positions floor(i * n / m) to ceil((i + 1) * n / m).

    Keras' AdaptiveMaxPoolingND has the same windows, but its TensorFlow kernel dies with a floating-point
    exception when a window of ceil(n / m) + 1 positions does not fit the axis (an axis pooled to 1 or grown
    from 1); generated code uses this layer only then. A box's maximum is taken one axis at a time.
    """

    def __init__(self, output_size: tuple[int, ...], data_format: str = "channels_last", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.output_size, self.data_format = output_size, data_format

    def call(self, inputs: Any) -> Any:
        x = inputs
        first = 1 if self.data_format == "channels_last" else 2
        for axis, m in enumerate(self.output_size, start=first):
            n = x.shape[axis]
            if n == m:
                continue
            windows = [ops.take(x, np.arange(i * n // m, -(-(i + 1) * n // m)), axis=axis) for i in range(m)]
            x = ops.concatenate([ops.max(w, axis=axis, keepdims=True) for w in windows], axis=axis)
        return x


class ConvTranspose(layers.Layer):
    """A transposed convolution (channels last) for what Keras' ConvNDTranspose layers cannot do on a CPU:
    groups and dilation. `weight` (in_channels, filters / groups, *kernel) and `bias` (filters,) are
    PyTorch's. The input is spread `strides` apart, padded by the dilated kernel size - 1 and convolved
    with the flipped kernel; `crop` then keeps the language's output ((start, excess) per axis, a negative
    excess appends zeros) before the bias and the activation.
    """

    def __init__(
        self,
        filters: int,
        kernel_size: tuple[int, ...],
        strides: tuple[int, ...],
        dilation_rate: tuple[int, ...],
        crop: tuple[tuple[int, int], ...],
        groups: int = 1,
        use_bias: bool = True,
        activation: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.strides, self.dilation_rate = filters, kernel_size, strides, dilation_rate
        self.crop, self.groups, self.use_bias = crop, groups, use_bias
        self.activation = keras.activations.get(activation)

    def build(self, input_shape: Any) -> None:
        channels = input_shape[-1]
        fan_in = self.filters // self.groups * int(np.prod(self.kernel_size))
        bound = 1 / math.sqrt(fan_in)
        init = keras.initializers.RandomUniform(-bound, bound)
        self.weight = self.add_weight(
            shape=(channels, self.filters // self.groups, *self.kernel_size), initializer=init, name="weight"
        )
        if self.use_bias:
            self.bias = self.add_weight(shape=(self.filters,), initializer=init, name="bias")

    def call(self, inputs: Any) -> Any:
        rank = len(self.kernel_size)
        x = inputs
        for axis, s in enumerate(self.strides, start=1):
            if s > 1:  # s - 1 zeros after every position, none after the last
                shape = ops.shape(x)
                x = ops.expand_dims(x, axis + 1)
                x = ops.pad(x, [(0, 0)] * (axis + 1) + [(0, s - 1)] + [(0, 0)] * (rank - axis + 1))
                merged = ops.reshape(
                    x,
                    [
                        shape[0],
                        *(shape[i] for i in range(1, axis)),
                        shape[axis] * s,
                        *(shape[i] for i in range(axis + 1, rank + 2)),
                    ],
                )
                x = merged[(slice(None),) * axis + (slice(None, shape[axis] * s - (s - 1)),)]
        edges = [(d * (k - 1), d * (k - 1)) for k, d in zip(self.kernel_size, self.dilation_rate)]
        x = ops.pad(x, [(0, 0), *edges, (0, 0)])
        # torch (in, out / g, *k) -> a forward kernel (*k, in / g, out), flipped in space
        in_channels = self.weight.shape[0]
        per_group = in_channels // self.groups
        kernel = ops.reshape(self.weight, (self.groups, per_group, self.filters // self.groups, *self.kernel_size))
        kernel = ops.transpose(kernel, (*range(3, 3 + rank), 1, 0, 2))
        kernel = ops.reshape(kernel, (*self.kernel_size, per_group, self.filters))
        kernel = ops.flip(kernel, axis=tuple(range(rank)))
        out = ops.conv(x, kernel, strides=1, padding="valid", dilation_rate=self.dilation_rate)
        index: list[Any] = [slice(None)]
        tail = []
        for start, excess in self.crop:
            index.append(slice(start, -excess if excess > 0 else None))
            tail.append((0, max(-excess, 0)))
        out = out[tuple(index)]
        if any(after for _, after in tail):
            out = ops.pad(out, [(0, 0), *tail, (0, 0)])
        if self.use_bias:
            out = out + self.bias
        return self.activation(out)


class LinearUpSampling(layers.Layer):
    """Linear, bilinear or trilinear up-sampling by integer factors (channels last), as PyTorch's
    interpolate(align_corners=False): output i reads input (i + 0.5) / size - 0.5, clamped to the edges."""

    def __init__(self, size: tuple[int, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size = size

    def call(self, inputs: Any) -> Any:
        x = inputs
        for axis, s in enumerate(self.size, start=1):
            if s == 1:
                continue
            n = ops.shape(x)[axis]
            position = (ops.cast(ops.arange(n * s), "float32") + 0.5) / s - 0.5
            position = ops.maximum(position, 0.0)
            low = ops.cast(ops.floor(position), "int32")
            high = ops.minimum(low + 1, n - 1)
            shape = [1] * len(inputs.shape)
            shape[axis] = -1
            weight = ops.cast(ops.reshape(position - ops.floor(position), shape), x.dtype)
            x = ops.take(x, low, axis=axis) * (1 - weight) + ops.take(x, high, axis=axis) * weight
        return x


# ---- core ----


class PaddedEmbedding(layers.Embedding):
    """Keras' Embedding with PyTorch's padding_idx: that row starts at zero and never gets a gradient."""

    def __init__(self, input_dim: int, output_dim: int, padding_idx: int, **kwargs: Any) -> None:
        super().__init__(input_dim, output_dim, embeddings_initializer="random_normal", **kwargs)
        self.padding_idx = padding_idx

    def build(self, input_shape: Any = None) -> None:
        super().build(input_shape)
        rows = np.arange(self.input_dim)[:, None] != self.padding_idx
        self.embeddings.assign(self.embeddings * rows.astype(self.embeddings.dtype))

    def call(self, inputs: Any) -> Any:
        padding = ops.expand_dims(ops.arange(self.input_dim) == self.padding_idx, -1)
        table = ops.where(padding, ops.stop_gradient(self.embeddings), self.embeddings)
        return ops.take(table, ops.cast(inputs, "int32"), axis=0)


# ---- recurrent: PyTorch's parameters (weight_ih, weight_hh, bias_ih, bias_hh) and gate order ----


def _uniform(units: int) -> Any:
    return keras.initializers.RandomUniform(-1 / math.sqrt(units), 1 / math.sqrt(units))


def _torch_rnn_weights(cell: Any, features: int, gates: int) -> None:
    rows = gates * cell.units
    init = _uniform(cell.units)
    cell.weight_ih = cell.add_weight(shape=(rows, features), initializer=init, name="weight_ih")
    cell.weight_hh = cell.add_weight(shape=(rows, cell.units), initializer=init, name="weight_hh")
    if cell.use_bias:
        cell.bias_ih = cell.add_weight(shape=(rows,), initializer=init, name="bias_ih")
        cell.bias_hh = cell.add_weight(shape=(rows,), initializer=init, name="bias_hh")


def _torch_rnn_projections(cell: Any, inputs: Any, h: Any, training: bool) -> tuple[Any, Any]:
    """x W_ih^T + b_ih and h W_hh^T + b_hh, the input dropped out (one mask per sequence) while training."""
    if training and cell.dropout > 0:
        inputs = inputs * cell.get_dropout_mask(inputs)
    x = ops.matmul(inputs, ops.transpose(cell.weight_ih))
    a = ops.matmul(h, ops.transpose(cell.weight_hh))
    if cell.use_bias:
        x, a = x + cell.bias_ih, a + cell.bias_hh
    return x, a


@keras.saving.register_keras_serializable(package="neural")  # Bidirectional rebuilds layers from their config
class TorchSimpleRNNCell(layers.SimpleRNNCell):
    """torch.nn.RNN's cell: h = activation(x W_ih^T + b_ih + h W_hh^T + b_hh)."""

    def build(self, input_shape: Any) -> None:
        _torch_rnn_weights(self, input_shape[-1], 1)

    def call(self, sequence: Any, states: Any, training: bool = False) -> Any:
        h = states[0] if isinstance(states, (list, tuple)) else states
        x, a = _torch_rnn_projections(self, sequence, h, training)
        h = self.activation(x + a)
        return h, [h]


@keras.saving.register_keras_serializable(package="neural")  # Bidirectional rebuilds layers from their config
class TorchLSTMCell(layers.LSTMCell):
    """torch.nn.LSTM's cell: gates i, f, g, o in the rows of the weights; c = f c + i g, h = o act(c)."""

    def build(self, input_shape: Any) -> None:
        _torch_rnn_weights(self, input_shape[-1], 4)

    def call(self, inputs: Any, states: Any, training: bool = False) -> Any:
        h, c = states
        x, a = _torch_rnn_projections(self, inputs, h, training)
        i, f, g, o = ops.split(x + a, 4, axis=-1)
        gate = self.recurrent_activation
        c = gate(f) * c + gate(i) * self.activation(g)
        h = gate(o) * self.activation(c)
        return h, [h, c]


@keras.saving.register_keras_serializable(package="neural")  # Bidirectional rebuilds layers from their config
class TorchGRUCell(layers.GRUCell):
    """torch.nn.GRU's cell: gates r, z, n; n = act(x_n + r (W_hn h + b_hn)); h = (1 - z) n + z h."""

    def build(self, input_shape: Any) -> None:
        _torch_rnn_weights(self, input_shape[-1], 3)

    def call(self, inputs: Any, states: Any, training: bool = False) -> Any:
        h = states[0] if isinstance(states, (list, tuple)) else states
        x, a = _torch_rnn_projections(self, inputs, h, training)
        x_r, x_z, x_n = ops.split(x, 3, axis=-1)
        a_r, a_z, a_n = ops.split(a, 3, axis=-1)
        gate = self.recurrent_activation
        r, z = gate(x_r + a_r), gate(x_z + a_z)
        h = (1 - z) * self.activation(x_n + r * a_n) + z * h
        return h, [h]


# ---- attention ----


class MaskedMultiHeadAttention(layers.MultiHeadAttention):
    """Keras' MultiHeadAttention taking a key padding mask (batch, key_len) of 1 = token, 0 = padding.

    A query that sees no key at all (every key padded, or masked by causality) gets a zero attention
    output, as the language defines it, where a plain softmax would spread it over the padding.
    """

    def call(
        self,
        query: Any,
        value: Any,
        key: Any = None,
        key_padding_mask: Any = None,
        training: bool | None = None,
        **kwargs: Any,
    ) -> Any:
        if key_padding_mask is not None:
            kwargs["attention_mask"] = ops.expand_dims(ops.greater(key_padding_mask, 0.5), 1)
        return super().call(query, value, key=key, training=training, **kwargs)

    def compute_output_spec(
        self, query: Any, value: Any, key: Any = None, key_padding_mask: Any = None, **kwargs: Any
    ) -> Any:
        return super().compute_output_spec(query, value, key=key, **kwargs)

    def _compute_attention(
        self, query: Any, key: Any, value: Any, attention_mask: Any = None, *args: Any, **kwargs: Any
    ) -> Any:
        output, scores = super()._compute_attention(query, key, value, attention_mask, *args, **kwargs)
        if attention_mask is not None:
            sees_any = ops.any(ops.cast(attention_mask, "bool"), axis=-1)
            output = output * ops.cast(sees_any, output.dtype)[:, :, None, None]
        return output, scores


def sinusoid_table(length: Any, features: int) -> Any:
    """(length, features), float32: pe[p, 2i] = sin(p / 10000^(2i / D)), pe[p, 2i + 1] = cos(p / 10000^(2i / D)),
    computed in float64."""
    position = tf.cast(tf.range(length), tf.float64)[:, None]
    div = tf.exp(tf.range(0, features, 2, dtype=tf.float64) * (-math.log(10000.0) / features))
    angles = position * div
    return tf.cast(tf.reshape(tf.stack([tf.sin(angles), tf.cos(angles)], axis=-1), (length, features)), tf.float32)


class PositionalEncoding(layers.Layer):
    """Adds position information to (batch, T, D) sequences, then dropout: the fixed sin/cos table of
    "Attention is all you need" (not a variable), or rows [0, T) of a learned `weight` (max_len, D)."""

    def __init__(
        self, kind: str = "sinusoidal", max_len: int | None = None, dropout: float = 0.0, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.kind, self.max_len = kind, max_len
        self.dropout = layers.Dropout(dropout)

    def build(self, input_shape: Any) -> None:
        features = input_shape[-1]
        if self.kind == "learned":
            init = keras.initializers.RandomNormal(stddev=0.02)
            self.weight = self.add_weight(shape=(self.max_len, features), initializer=init, name="weight")

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        length = ops.shape(inputs)[1]
        table = self.weight[:length] if self.kind == "learned" else sinusoid_table(length, inputs.shape[-1])
        return self.dropout(inputs + ops.cast(table, inputs.dtype), training=training)


def _activation_layer(name: str | None) -> Any:
    """An activation as a layer (prelu: one learned slope shared by every position)."""
    if name == "prelu":
        return layers.PReLU(alpha_initializer=keras.initializers.Constant(0.25))
    return layers.Activation(leaky_relu if name == "leaky_relu" else name or "linear")


class FeedForward(layers.Layer):
    """Position-wise feed-forward block over the last axis: linear1 -> activation -> dropout -> linear2."""

    def __init__(
        self,
        ff_dim: int,
        activation: str | None = "relu",
        dropout: float = 0.0,
        use_bias: bool = True,
        output_dim: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.ff_dim, self.output_dim, self.use_bias = ff_dim, output_dim, use_bias
        self.linear1 = layers.Dense(ff_dim, use_bias=use_bias)
        self.activation = _activation_layer(activation)
        self.dropout = layers.Dropout(dropout)

    def build(self, input_shape: Any) -> None:
        hidden = (*input_shape[:-1], self.ff_dim)
        self.linear1.build(input_shape)
        if isinstance(self.activation, layers.PReLU):
            self.activation.shared_axes = list(range(1, len(input_shape)))
            self.activation.build(hidden)
        self.linear2 = layers.Dense(self.output_dim or input_shape[-1], use_bias=self.use_bias)
        self.linear2.build(hidden)

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        return self.linear2(self.dropout(self.activation(self.linear1(inputs)), training=training))


class TransformerEncoderLayer(layers.Layer):
    """One Transformer encoder layer, as torch.nn.TransformerEncoderLayer(batch_first=True): (N, T, D) -> (N, T, D).

    Self-attention then feed-forward, each a residual branch with LayerNormalization after it (before it
    with norm_first). `key_padding_mask` (N, T) holds 1 for tokens and 0 for padding.
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        dim_feedforward: int,
        dropout: float = 0.1,
        activation: str = "relu",
        layer_norm_eps: float = 1e-5,
        norm_first: bool = False,
        causal: bool = False,
        use_bias: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.norm_first, self.causal = norm_first, causal
        self.self_attn = MaskedMultiHeadAttention(num_heads, d_model // num_heads, dropout=dropout, use_bias=use_bias)
        self.linear1 = layers.Dense(dim_feedforward, activation=activation, use_bias=use_bias)
        self.dropout = layers.Dropout(dropout)
        self.linear2 = layers.Dense(d_model, use_bias=use_bias)
        self.norm1 = layers.LayerNormalization(epsilon=layer_norm_eps, center=use_bias)
        self.norm2 = layers.LayerNormalization(epsilon=layer_norm_eps, center=use_bias)
        self.dropout1 = layers.Dropout(dropout)
        self.dropout2 = layers.Dropout(dropout)

    def build(self, x_shape: Any, key_padding_mask_shape: Any = None) -> None:
        self.self_attn.build(x_shape, x_shape)
        self.linear1.build(x_shape)
        self.linear2.build((*x_shape[:-1], self.linear1.units))
        self.norm1.build(x_shape)
        self.norm2.build(x_shape)

    def call(self, x: Any, key_padding_mask: Any = None, training: bool | None = None) -> Any:
        def attend(y: Any) -> Any:
            y = self.self_attn(y, y, key_padding_mask=key_padding_mask, use_causal_mask=self.causal, training=training)
            return self.dropout1(y, training=training)

        def feed_forward(y: Any) -> Any:
            y = self.linear2(self.dropout(self.linear1(y), training=training))
            return self.dropout2(y, training=training)

        if self.norm_first:
            x = x + attend(self.norm1(x))
            return x + feed_forward(self.norm2(x))
        x = self.norm1(x + attend(x))
        return self.norm2(x + feed_forward(x))


class TransformerDecoderLayer(layers.Layer):
    """One Transformer decoder layer, as torch.nn.TransformerDecoderLayer(batch_first=True).

    target (N, T, D), memory (N, S, D) -> (N, T, D): self-attention (causal by default), cross-attention
    to the memory, then feed-forward; each a residual branch with LayerNormalization after it (before it
    with norm_first). Padding masks hold 1 for tokens and 0 for padding.
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        dim_feedforward: int,
        dropout: float = 0.1,
        activation: str = "relu",
        layer_norm_eps: float = 1e-5,
        norm_first: bool = False,
        causal: bool = True,
        use_bias: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.norm_first, self.causal = norm_first, causal
        heads = {"num_heads": num_heads, "key_dim": d_model // num_heads, "dropout": dropout, "use_bias": use_bias}
        self.self_attn = MaskedMultiHeadAttention(**heads)
        self.cross_attn = MaskedMultiHeadAttention(**heads)
        self.linear1 = layers.Dense(dim_feedforward, activation=activation, use_bias=use_bias)
        self.dropout = layers.Dropout(dropout)
        self.linear2 = layers.Dense(d_model, use_bias=use_bias)
        self.norm1 = layers.LayerNormalization(epsilon=layer_norm_eps, center=use_bias)
        self.norm2 = layers.LayerNormalization(epsilon=layer_norm_eps, center=use_bias)
        self.norm3 = layers.LayerNormalization(epsilon=layer_norm_eps, center=use_bias)
        self.dropout1 = layers.Dropout(dropout)
        self.dropout2 = layers.Dropout(dropout)
        self.dropout3 = layers.Dropout(dropout)

    def build(self, x_shape: Any, memory_shape: Any, *masks: Any) -> None:
        self.self_attn.build(x_shape, x_shape)
        self.cross_attn.build(x_shape, memory_shape)
        self.linear1.build(x_shape)
        self.linear2.build((*x_shape[:-1], self.linear1.units))
        for norm in (self.norm1, self.norm2, self.norm3):
            norm.build(x_shape)

    def call(
        self,
        x: Any,
        memory: Any,
        key_padding_mask: Any = None,
        memory_key_padding_mask: Any = None,
        training: bool | None = None,
    ) -> Any:
        def attend(y: Any) -> Any:
            y = self.self_attn(y, y, key_padding_mask=key_padding_mask, use_causal_mask=self.causal, training=training)
            return self.dropout1(y, training=training)

        def cross(y: Any) -> Any:
            y = self.cross_attn(y, memory, key_padding_mask=memory_key_padding_mask, training=training)
            return self.dropout2(y, training=training)

        def feed_forward(y: Any) -> Any:
            y = self.linear2(self.dropout(self.linear1(y), training=training))
            return self.dropout3(y, training=training)

        if self.norm_first:
            x = x + attend(self.norm1(x))
            x = x + cross(self.norm2(x))
            return x + feed_forward(self.norm3(x))
        x = self.norm1(x + attend(x))
        x = self.norm2(x + cross(x))
        return self.norm3(x + feed_forward(x))


# ---- structure ----


class SqueezeExcitation(layers.Layer):
    """Squeeze-and-excitation as torchvision.ops.SqueezeExcitation (channels last, 1 to 3 spatial axes):
    x * gate(fc2(activation(fc1(mean of x over the spatial axes)))), fc1 and fc2 fully connected."""

    def __init__(
        self, squeeze_channels: int, activation: str | None = "relu", gate: str = "sigmoid", **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.squeeze_channels = squeeze_channels
        self.fc1 = layers.Dense(squeeze_channels)
        self.activation = _activation_layer(activation)
        self.gate = layers.Activation(gate)

    def build(self, input_shape: Any) -> None:
        self.fc1.build((None, input_shape[-1]))
        if isinstance(self.activation, layers.PReLU):
            self.activation.shared_axes = [1]
            self.activation.build((None, self.squeeze_channels))
        self.fc2 = layers.Dense(input_shape[-1])
        self.fc2.build((None, self.squeeze_channels))

    def call(self, inputs: Any) -> Any:
        spatial = list(range(1, len(inputs.shape) - 1))
        scale = self.gate(self.fc2(self.activation(self.fc1(ops.mean(inputs, axis=spatial)))))
        return inputs * ops.reshape(scale, [-1, *([1] * len(spatial)), scale.shape[-1]])


class MergedTimeDistributed(layers.TimeDistributed):
    """keras.layers.TimeDistributed that runs the wrapped layer once on every step together, as a batch of
    batch * steps samples (as PyTorch code does), so batch statistics span all the steps; Keras' own calls
    the layer step by step."""

    def compute_output_shape(self, input_shape: Any) -> Any:
        step = self.layer.compute_output_spec(keras.KerasTensor((None, *input_shape[2:]), dtype=self.compute_dtype))
        return (input_shape[0], input_shape[1], *step.shape[1:])

    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        shape = ops.shape(inputs)
        merged = ops.reshape(inputs, (-1, *shape[2:]))
        kwargs = {"training": training} if self.layer._call_has_training_arg else {}
        out = self.layer(merged, **kwargs)
        return ops.reshape(out, (shape[0], shape[1], *ops.shape(out)[1:]))
