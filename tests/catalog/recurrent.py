"""SimpleRNN, LSTM, GRU, Bidirectional and ConvLSTM2D: activations (the framework's own cells and loops for
the others), go_backwards, bias, returned sequences and states, merge modes, input dropout, open lengths,
both layouts. Layers with several outputs feed a Concatenate, so that one training step is compared."""

from __future__ import annotations

from catalog.base import case

CF = "channels_first"
TAIL = "\nFlatten()\nDense(2)"

STATES = """
out, h = GRU(4, return_state=true)(input)
o2, h2, c2 = LSTM(4, return_state=true)(input)
f, b = Bidirectional(LSTM(4), none)(input)
o3, hf, hb = Bidirectional(GRU(4, return_state=true))(input)
Concatenate()(out, h, o2, h2, c2, f, b, o3, hf, hb)
"""

CASES = [
    # SimpleRNN
    case("SimpleRNN(6)", (5, 4)),
    case('SimpleRNN(6, "relu", return_sequences=true)', (5, 4)),
    case('SimpleRNN(4, "relu", return_sequences=true, use_bias=false)' + TAIL, (5, 3)),
    case("SimpleRNN(6, go_backwards=true, use_bias=false)", (5, 4)),
    case('SimpleRNN(6, "linear", return_sequences=true)', (5, 4)),
    case('SimpleRNN(6, "softmax", return_sequences=true, go_backwards=true)', (5, 4)),
    case('SimpleRNN(4, "leaky_relu", go_backwards=true)', (5, 3)),
    # LSTM
    case("LSTM(6)", (5, 4)),
    case("LSTM(4)", (None, None, 3)),
    case("LSTM(6, return_sequences=true)\nDense(2)", (None, None, 4)),
    case("LSTM(6, return_sequences=true, go_backwards=true)", (5, 4)),
    case("LSTM(6, go_backwards=true, use_bias=false)", (5, 4)),
    case("out, h, c = LSTM(6, return_state=true)\nConcatenate()(out, h, c)", (5, 4)),
    case(
        "seq, h, c = LSTM(6, return_sequences=true, return_state=true)\nDense(3)(seq)\nflat = Flatten()\n"
        "Concatenate()(flat, h, c)",
        (5, 4),
    ),
    case("LSTM(6, dropout=0.3)", (5, 4)),
    case('LSTM(4, "relu", "hard_sigmoid", dropout=0.3)', (5, 3)),
    case('LSTM(6, "relu", "hard_sigmoid", return_sequences=true)', (5, 4)),
    case(
        'out, h, c = LSTM(6, recurrent_activation="hard_sigmoid", return_state=true, use_bias=false)\n'
        "Concatenate()(out, h, c)",
        (5, 4),
    ),
    # GRU
    case("GRU(6)", (5, 4)),
    case("GRU(4)", (None, None, 3)),
    case("GRU(6, return_sequences=true, go_backwards=true)", (5, 4)),
    case('GRU(4, "softsign", go_backwards=true, use_bias=false)', (5, 3)),
    case('GRU(4, "softsign", return_sequences=true)', (5, 3)),
    case("out, h = GRU(6, return_state=true, use_bias=false)\nConcatenate()(out, h)", (None, None, 4)),
    case(
        "o, h = GRU(4, return_state=true, return_sequences=true)\nf = Flatten()(o)\nConcatenate()(f, h)\nDense(2)",
        (5, 3),
    ),
    case("GRU(6, dropout=0.2, return_sequences=true)", (5, 4)),
    case('GRU(6, "elu", "hard_sigmoid")', (5, 4)),
    case('GRU(6, "gelu", go_backwards=true, return_sequences=true)\nDense(2)', (None, None, 4)),
    case(STATES, (5, 3)),
    # Bidirectional: merge modes, states, go_backwards, loops
    case("Bidirectional(LSTM(6))", (5, 4)),
    case("Bidirectional(LSTM(6, return_sequences=true))", (5, 4)),
    case("Bidirectional(LSTM(4, return_sequences=true))", (None, None, 3)),
    case('Bidirectional(GRU(6), "sum")', (5, 4)),
    case('Bidirectional(GRU(4), "mul")', (5, 3)),
    case('Bidirectional(GRU(4, return_sequences=true), "ave")' + TAIL, (5, 3)),
    case('Bidirectional(SimpleRNN(6, return_sequences=true, go_backwards=true), "ave")', (5, 4)),
    case('Bidirectional(SimpleRNN(4, go_backwards=true), "sum")', (5, 3)),
    case('Bidirectional(SimpleRNN(4, "leaky_relu"), "mul")', (5, 3)),
    case('Bidirectional(LSTM(6, return_sequences=true, go_backwards=true), "mul")', (5, 4)),
    case('Bidirectional(LSTM(4, go_backwards=true, return_sequences=true), "sum")' + TAIL, (5, 3)),
    case("f, b = Bidirectional(GRU(6, return_sequences=true), none)\nConcatenate()(f, b)", (None, None, 4)),
    case("f, b = Bidirectional(GRU(4), none)\nAdd()(f, b)\nDense(2)", (5, 3)),
    case("out, fh, fc, bh, bc = Bidirectional(LSTM(6, return_state=true))\nConcatenate()(out, fh, fc, bh, bc)", (5, 4)),
    case(
        "f, b, fh, bh = Bidirectional(GRU(5, go_backwards=true, return_state=true), none)\nConcatenate()(f, b, fh, bh)",
        (5, 4),
    ),
    case('Bidirectional(LSTM(6, "relu", return_sequences=true))', (5, 4)),
    case('Bidirectional(GRU(6, "selu", use_bias=false, go_backwards=true), "concat")', (5, 4)),
    case('Bidirectional(SimpleRNN(6, "relu", dropout=0.3), "sum")', (5, 4)),
    case("Bidirectional(GRU(4, dropout=0.2))", (5, 3)),
    # sequences read (timesteps, features) in either layout
    case("LSTM(6, return_sequences=true)\nGRU(3)", (5, 4), layout=CF),
    case('Bidirectional(SimpleRNN(6, "selu", return_sequences=true), "sum")', (5, 4), layout=CF),
    # after an embedding, stacked
    case("Embedding(30, 6)\nLSTM(5, return_sequences=true)\nGRU(4)\nDense(2)", (7,)),
    # ConvLSTM2D: kernel, strides, padding, dilation, activations, states, layouts
    case("ConvLSTM2D(4, 3)" + TAIL, (4, 6, 6, 3)),
    case('ConvLSTM2D(4, 2, padding="same", return_sequences=true)' + TAIL, (4, 6, 6, 3)),
    case('ConvLSTM2D(4, 3, strides=2, padding="same")' + TAIL, (4, 7, 7, 3)),
    case('ConvLSTM2D(4, (2, 3), strides=(1, 2), padding="same", use_bias=false)' + TAIL, (3, 6, 7, 2)),
    case('ConvLSTM2D(3, (2, 3), strides=2, padding="same", go_backwards=true)' + TAIL, (4, 6, 6, 2)),
    case("ConvLSTM2D(3, 3, strides=2)" + TAIL, (3, 7, 7, 2)),
    case('ConvLSTM2D(3, 3, "relu", strides=2, go_backwards=true)' + TAIL, (3, 7, 7, 2)),
    case('ConvLSTM2D(4, 3, dilation_rate=2, padding="same", go_backwards=true)' + TAIL, (4, 7, 7, 3)),
    case("ConvLSTM2D(3, 2, dilation_rate=(2, 1))" + TAIL, (3, 6, 6, 2)),
    case("ConvLSTM2D(3, 2, dilation_rate=2, use_bias=false)" + TAIL, (4, 6, 6, 2)),
    case(
        'ConvLSTM2D(4, 3, activation="relu", recurrent_activation="hard_sigmoid", padding="same")' + TAIL, (4, 6, 6, 3)
    ),
    case('ConvLSTM2D(4, 3, activation="softmax", padding="same")' + TAIL, (4, 6, 6, 3)),
    case("ConvLSTM2D(3, 3, dropout=0.2)" + TAIL, (3, 6, 6, 2)),
    case(
        'seq, h, c = ConvLSTM2D(3, 3, padding="same", return_sequences=true, return_state=true)\n'
        "Concatenate()(h, c)" + TAIL,
        (3, 5, 5, 2),
    ),
    case("o, h, c = ConvLSTM2D(3, 3, dilation_rate=2, return_state=true)\nAdd()(o, h)" + TAIL, (3, 7, 7, 2)),
    case('ConvLSTM2D(3, 3, padding="same", return_sequences=true, dropout=0.2)\nDense(2)', (None, None, 5, 5, 2)),
    case(
        "ConvLSTM2D(4, (2, 3), strides=(2, 1), use_bias=false, return_sequences=true)" + TAIL, (4, 3, 7, 7), layout=CF
    ),
    case('ConvLSTM2D(3, 3, padding="same", return_sequences=true, use_bias=false)' + TAIL, (3, 2, 5, 5), layout=CF),
    case(
        'ConvLSTM2D(3, 3, padding="same", recurrent_activation="softmax", return_sequences=true)' + TAIL,
        (3, 2, 5, 5),
        layout=CF,
    ),
    case(
        'seq, h, c = ConvLSTM2D(3, 3, padding="same", return_state=true)\nConcatenate(axis=0)(seq, h, c)' + TAIL,
        (3, 2, 5, 5),
        layout=CF,
    ),
    case("o, h, c = ConvLSTM2D(3, 3, return_state=true)\nConcatenate()(o, h, c)" + TAIL, (3, 2, 6, 6), layout=CF),
]
