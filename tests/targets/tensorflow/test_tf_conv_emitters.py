"""TensorFlow emitters of the convolution family: the generated code reads as Keras, and a channels-first
network moves its feature maps channels last once (for TensorFlow's CPU kernels). (Every convolution case of
the catalog, both layouts and open lengths, runs in tests/conformance.)"""

from __future__ import annotations

from tf_helpers import snippet_network

from neural.targets.tensorflow.codegen import generate


def test_generated_conv_code_reads_as_keras() -> None:
    code = generate(snippet_network('Conv2D(8, 3, strides=2, padding="same", use_bias=false)', (9, 9, 3)))
    assert "layers.Conv2D(8, 3, strides=2, padding='same', use_bias=False, name='conv2d_1')" in code
    assert "keras.Sequential(" in code
    code = generate(snippet_network("Conv2D(8, 3, padding=((1, 2), (0, 1)))", (9, 9, 3)))
    assert "layers.ZeroPadding2D(((1, 2), (0, 1)), name='conv2d_1_pad')" in code
    code = generate(snippet_network('Conv2D(8, 3, strides=2, dilation_rate=2, padding="same")', (9, 9, 3)))
    assert (
        "layers.Conv2D(8, 3, dilation_rate=2, name='conv2d_1')" in code
        and "Subsample((2, 2), name='conv2d_1_stride')" in code
    )
    code = generate(snippet_network("Conv2DTranspose(6, 3, groups=2)", (5, 5, 4)))
    assert (
        "class ConvTranspose(layers.Layer):" in code
        and "'conv2d_transpose_1.weight': ('conv2d_transpose_1', 'weight'" in code
    )


def test_channels_first_network_moves_feature_maps_once() -> None:
    code = generate(
        snippet_network("Conv2D(4, 3)\nReLU()\nConv2D(4, 3)\nFlatten()\nDense(2)", (3, 8, 8), layout="channels_first")
    )
    body = code[code.index("def build_model") : code.index("WEIGHTS = ")]
    assert body.count("layers.Permute((2, 3, 1)") == 1 and body.count("layers.Permute((3, 1, 2)") == 1
