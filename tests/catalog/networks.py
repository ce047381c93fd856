"""Small networks of several kinds: feature maps that change layout (moved once, back for Flatten/Dense and
the output), branches and merges, a convolution after a sequence layer; and networks holding many kinds at
once (every spatial kind, every sequence kind), whose generated modules the target tests also lint."""

from __future__ import annotations

from catalog.base import both_layouts, case

LAYOUT_CHANGES = [
    (
        "two convolutions",
        'Conv2D(4, 3, "relu")\nConv2D(5, 3, strides=2, padding="same")\nFlatten()\nDense(3)',
        (8, 8, 3),
    ),
    (
        "branches and a sum",
        'c = Conv2D(4, 3, padding="same")\nd = Conv2D(4, 1)(c)\ne = DepthwiseConv2D(3, padding="same")(c)\nAdd()(d, e)\n'
        "GlobalAveragePooling2D()\nDense(2)",
        (6, 7, 3),
    ),
    (
        "convolutions after a Dense",
        "Dense(4)\nConv1D(3, 3)\nConv1DTranspose(2, 3, strides=2)\nFlatten()\nDense(2)",
        (7, 5),
    ),
    (
        "up, down and a concatenation",
        'c = Conv2D(4, 3, padding="same")\nu = Conv2DTranspose(4, 2, strides=2)(c)\nm = MaxPooling2D(2)(u)\n'
        'Concatenate()(c, m)\nConv2D(2, 1, "sigmoid")',
        (6, 6, 2),
    ),
    ("convolution, pooling, Dense", 'Conv2D(4, 3, padding="same")\nMaxPooling2D(2)\nFlatten()\nDense(3)', (6, 6, 3)),
]

# every kind of the conv, pooling and resizing families in one network (inputs a: 1-D, b: 2-D, c: 3-D maps);
# no max pooling right after a nearest upsampling: its ties make the gradient a matter of convention
ALL_SPATIAL = """
a1 = Conv1D(4, 3, padding="causal")(a)
a2 = SeparableConv1D(4, 3, strides=2, padding="same")(a1)
a3 = DepthwiseConv1D(3, padding=(1, 2))(a2)
a4 = Conv1DTranspose(4, 3, strides=2, padding="same")(a3)
a5 = MaxPooling1D(3, strides=2, padding="same")(a4)
a6 = AveragePooling1D(2, padding=(0, 1), ceil_mode=true)(a5)
a7 = UpSampling1D(2, interpolation="linear")(a6)
a8 = ZeroPadding1D((1, 2))(a7)
a9 = Cropping1D((2, 1))(a8)
a10 = AdaptiveMaxPooling1D(3)(a9)
a11 = AdaptiveAveragePooling1D(2)(a10)
ga = GlobalMaxPooling1D()(a11)
gb1 = GlobalAveragePooling1D()(a9)
b1 = Conv2D(4, 3, strides=2, padding="same", activation="relu")(b)
b2 = SeparableConv2D(4, 3, padding="same")(b1)
b3 = DepthwiseConv2D(3, padding=1)(b2)
b4 = Conv2DTranspose(4, 3, strides=2, padding="same")(b3)
b5 = MaxPooling2D(2, padding=((0, 1), (1, 0)))(b4)
b6 = AveragePooling2D(3, strides=2, padding="same")(b5)
b7 = UpSampling2D(2, interpolation="bilinear")(b6)
b8 = ZeroPadding2D(1)(b7)
b9 = Cropping2D(((1, 0), (0, 1)))(b8)
b10 = AdaptiveMaxPooling2D((2, None))(b9)
b11 = AdaptiveAveragePooling2D(2)(b10)
gb = GlobalMaxPooling2D()(b11)
gb2 = GlobalAveragePooling2D()(b9)
c1 = Conv3D(4, 3, padding="same")(c)
c2 = Conv3DTranspose(4, 2, strides=2)(c1)
c3 = MaxPooling3D(2)(c2)
c4 = AveragePooling3D(2, padding="same")(c3)
c5 = UpSampling3D(2)(c4)
c6 = ZeroPadding3D(1)(c5)
c7 = Cropping3D(1)(c6)
c8 = AdaptiveAveragePooling3D(2)(c7)
c9 = AdaptiveMaxPooling3D(1)(c8)
gc = GlobalMaxPooling3D(keepdims=true)(c9)
gc2 = GlobalAveragePooling3D()(c7)
fc = Flatten()(gc)
Concatenate()(ga, gb1, gb, gb2, fc, gc2)
Dense(3)
"""

# the same families with other arguments, normalization and squeeze-excitation in between
MIXED_SPATIAL = """
a1 = Conv1D(4, 3, padding="causal", activation="leaky_relu")(a)
a2 = SeparableConv1D(4, 3, strides=2, padding="same")(a1)
a3 = DepthwiseConv1D(3, padding=(1, 2))(a2)
a4 = Conv1DTranspose(4, 3, strides=2, padding="same")(a3)
a5 = MaxPooling1D(3, strides=2, padding="same")(a4)
a6 = AveragePooling1D(2, padding=(0, 1), ceil_mode=true)(a5)
a7 = UpSampling1D(2, interpolation="linear")(a6)
a8 = ZeroPadding1D((1, 2))(a7)
a9 = Cropping1D((2, 1))(a8)
a10 = AdaptiveMaxPooling1D(3)(a9)
ga = GlobalMaxPooling1D()(a10)
b1 = Conv2D(4, 3, strides=2, padding="same", dilation_rate=2, activation="softmax")(b)
b2 = SeparableConv2D(4, 3, padding="same", activation="prelu")(b1)
b3 = DepthwiseConv2D(3, padding=1)(b2)
b4 = Conv2DTranspose(4, 3, strides=2, padding="same", groups=2)(b3)
b5 = MaxPooling2D(2, padding=((0, 1), (1, 0)))(b4)
b6 = AveragePooling2D(3, strides=2, padding="same")(b5)
b7 = UpSampling2D(2, interpolation="bilinear")(b6)
b9 = Cropping2D(((1, 0), (0, 1)))(b7)
b11 = AdaptiveAveragePooling2D(2)(b9)
gb = GlobalMaxPooling2D()(b11)
c1 = Conv3D(4, 3, padding="same")(c)
c2 = Conv3DTranspose(4, 2, strides=2)(c1)
c3 = InstanceNormalization(affine=true)(c2)
c4 = AveragePooling3D(2, padding="same", count_include_pad=true)(c3)
c5 = UpSampling3D(2, interpolation="trilinear")(c4)
c6 = ZeroPadding3D(1)(c5)
c7 = Cropping3D(1)(c6)
c8 = SqueezeExcitation(2)(c7)
gc = GlobalAveragePooling3D()(c8)
Concatenate()(ga, gb, gc)
Dense(3)
"""

# sequence kinds one after another (inputs a: queries, b: memory, c: a key padding mask, d: token ids)
ALL_SEQUENCE = """
t = Embedding(20, 8, padding_idx=0)(d)
p = PositionalEncoding(max_len=10)(a)
r = Add()(p, t)
e = TransformerEncoder(2, 16, 0.0, norm_first=true)(r)
dec = TransformerDecoder(2, 16, 0.0, memory_key_padding_mask=true)(e, b, c)
h = MultiHeadAttention(2, key_padding_mask=true)(dec, b, c)
x = Attention(true, "concat")(h, b)
f = FeedForward(16, "gelu")(x)
n = LayerNormalization()(f)
s = Bidirectional(LSTM(4, return_sequences=true))(n)
g = GRU(4, return_sequences=true)(s)
w = TimeDistributed(Dense(3, "leaky_relu"))(g)
SimpleRNN(4)(w)
Dense(2, "softmax")
"""

# attention kinds side by side (a: queries, b: memory, c: its padding mask, d: the queries' mask)
ALL_ATTENTION = """
x1 = MultiHeadAttention(2, key_padding_mask=true, causal=true)(a, b, b, c)
x2 = MultiHeadAttention(2, 3, 5, dropout=0.1, output_dim=7)(a)
x3 = Attention(true, "concat", causal=true)(a, a)
x4 = Attention(dropout=0.1)(a, a)
p = PositionalEncoding()(a)
q = PositionalEncoding("learned", max_len=10)(a)
f = FeedForward(16, "prelu", dropout=0.1)(a)
e = TransformerEncoder(2, 16, norm_first=true, activation="gelu", key_padding_mask=true)(a, d)
dec = TransformerDecoder(2, 16, memory_key_padding_mask=true)(e, b, c)
t = TimeDistributed(Dense(3, "relu"))(a)
Concatenate()(x1, x2, x3, x4, p, q, f, e, dec, t)
SqueezeExcitation(4)
"""

# recurrent and normalization kinds (a: frames, b: a sequence)
ALL_RECURRENT = """
ConvLSTM2D(4, 3, padding="same", return_sequences=true, dropout=0.1)(a)
seq, h, c = ConvLSTM2D(4, 2, strides=2, padding="same", recurrent_activation="hard_sigmoid", return_state=true)
BatchNormalization(momentum=0.99, epsilon=0.001)(h)
GroupNormalization(2, center=false)
GroupNormalization(2)
InstanceNormalization(affine=true, track_running_stats=true)
InstanceNormalization(center=true, axis=0)
Flatten()
image = Dense(8)
LayerNormalization(scale=false)(b)
SimpleRNN(6, "relu", return_sequences=true)
GRU(6, "selu", return_sequences=true, go_backwards=true)
Bidirectional(LSTM(6, return_sequences=true, dropout=0.2), "ave")
fwd, bwd = Bidirectional(GRU(5), none)
last = LSTM(4, "relu")(b)
Concatenate()(image, fwd, bwd, last)
Output(2, "softmax")
"""

# images and token ids together
IMAGE_AND_TOKENS = """
c = Conv2D(4, 3, activation="prelu", padding=1)(a)
n = BatchNormalization()(c)
s = SeparableConv2D(4, 3, strides=2)(n)
f = Flatten()(s)
e = Embedding(30, 6)(b)
l = Bidirectional(GRU(4))(e)
Concatenate()(f, l)
Dense(3)
"""

CASES = [
    *[c for name, layers, shape in LAYOUT_CHANGES for c in both_layouts(layers, shape, name)],
    case(ALL_SPATIAL, (12, 3), (12, 12, 3), (6, 6, 6, 2), name="every spatial kind"),
    case(MIXED_SPATIAL, (12, 3), (12, 12, 3), (6, 6, 6, 2), name="spatial kinds with norms"),
    case(MIXED_SPATIAL, (3, 12), (3, 12, 12), (2, 6, 6, 6), layout="channels_first", name="spatial kinds with norms"),
    case(ALL_SEQUENCE, (6, 8), (5, 8), (5,), (6,), loss='"categorical_crossentropy"', name="sequence kinds"),
    case(ALL_ATTENTION, (6, 8), (5, 8), (5,), (6,), name="attention kinds"),
    case(ALL_RECURRENT, (4, 6, 6, 3), (7, 5), loss='"categorical_crossentropy"', name="recurrent and norm kinds"),
    case(IMAGE_AND_TOKENS, (8, 8, 3), (5,), name="image and tokens"),
]
