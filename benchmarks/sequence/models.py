"""bench_sequence.py's two networks, from stock Keras layers only (the shrunk models load
without tf_neuronselect)."""

import numpy as np

from benchmarks.sequence import config


def sinusoidal_positions(length, width):
    """The fixed sine / cosine position code of Vaswani et al. 2017, ``(length, width)``: added
    to the patch embeddings as a constant (a learned embedding would need a custom layer)."""
    position = np.arange(length)[:, None]
    frequency = np.exp(-np.log(10000.0) * (np.arange(0, width, 2) / width))
    code = np.zeros((length, width), "float32")
    code[:, 0::2] = np.sin(position * frequency)
    code[:, 1::2] = np.cos(position * frequency)
    return code


def vit_block(h, index):
    """One pre-norm encoder block: LayerNorm, multi-head self-attention, residual Add, then
    LayerNorm, a Dense MLP (gelu) and a residual Add."""
    import keras

    layers, width = keras.layers, config.VIT_WIDTH
    y = layers.LayerNormalization(epsilon=1e-6, name=f"block{index}_ln1")(h)
    y = layers.MultiHeadAttention(config.VIT_HEADS, width // config.VIT_HEADS,
                                  name=f"block{index}_attention")(y, y)
    h = layers.Add(name=f"block{index}_res1")([h, y])
    y = layers.LayerNormalization(epsilon=1e-6, name=f"block{index}_ln2")(h)
    y = layers.Dense(config.VIT_MLP, activation="gelu", name=f"block{index}_mlp1")(y)
    y = layers.Dense(width, name=f"block{index}_mlp2")(y)
    return layers.Add(name=f"block{index}_res2")([h, y])


def build_vit():
    """ViT on MNIST: 7x7 patches (a stride-7 Conv2D, 16 tokens) plus a sinusoidal position code,
    VIT_BLOCKS pre-norm blocks, a final LayerNorm, average pooling over the tokens and a Dense
    head (logits)."""
    import keras

    layers, side = keras.layers, 28 // config.PATCH
    inputs = keras.Input((28, 28, 1))
    h = layers.Conv2D(config.VIT_WIDTH, config.PATCH, strides=config.PATCH, name="patches")(inputs)
    h = layers.Reshape((side * side, config.VIT_WIDTH), name="tokens")(h)
    h = h + sinusoidal_positions(side * side, config.VIT_WIDTH)
    for index in range(config.VIT_BLOCKS):
        h = vit_block(h, index)
    h = layers.LayerNormalization(epsilon=1e-6, name="final_ln")(h)
    h = layers.GlobalAveragePooling1D(name="pool")(h)
    return keras.Model(inputs, layers.Dense(10, name="logits")(h), name="vit")


def build_lstm():
    """An LSTM reading the 28 rows of an image as 28 steps of 28 features, then a Dense head
    (logits)."""
    import keras

    inputs = keras.Input((28, 28))
    h = keras.layers.LSTM(config.LSTM_UNITS, name="lstm")(inputs)
    return keras.Model(inputs, keras.layers.Dense(10, name="logits")(h), name="lstm")


BUILDERS = {"vit": build_vit, "lstm": build_lstm}


def vit_structure(model):
    """``{"heads": [...], "mlp": [...]}``: attention heads and MLP neurons per block (0 where
    ``shrink`` dropped the branch: every head or neuron of it was dead)."""
    names = {layer.name: layer for layer in model.layers}

    def width(name, attribute):
        return getattr(names[name], attribute) if name in names else 0

    return {"heads": [width(f"block{i}_attention", "num_heads") for i in range(config.VIT_BLOCKS)],
            "mlp": [width(f"block{i}_mlp1", "units") for i in range(config.VIT_BLOCKS)]}


def lstm_structure(model):
    return {"units": [model.get_layer("lstm").units]}


STRUCTURES = {"vit": vit_structure, "lstm": lstm_structure}
