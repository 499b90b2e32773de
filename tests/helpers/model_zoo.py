"""Small models covering every pattern the rewriter handles, and a helper that kills units."""

import keras
import numpy as np

import tf_neuronselect as ns
from tf_neuronselect import grouping

L = keras.layers


def mlp():
    x = keras.Input((16,))
    h = L.Dense(32, activation="relu")(x)
    h = L.Dense(24, activation="tanh")(h)
    return keras.Model(x, L.Dense(10)(h), name="mlp")


def lenet():
    x = keras.Input((28, 28, 1))
    h = L.Conv2D(20, 5, activation="relu")(x)
    h = L.MaxPooling2D()(h)
    h = L.Conv2D(50, 5, activation="relu")(h)
    h = L.MaxPooling2D()(h)
    h = L.Flatten()(h)
    h = L.Dense(500, activation="relu")(h)
    return keras.Model(x, L.Dense(10)(h), name="lenet")


def vgg_bn():
    x = keras.Input((20, 20, 3))
    h = x
    for filters in (16, 16):
        h = L.Conv2D(filters, 3, use_bias=False)(h)
        h = L.ReLU()(L.BatchNormalization()(h))
    h = L.MaxPooling2D()(h)
    h = L.Conv2D(32, 3)(h)
    h = L.Activation("relu")(L.BatchNormalization()(h))
    h = L.GlobalAveragePooling2D()(h)
    return keras.Model(x, L.Dense(10)(h), name="vgg_bn")


def residual():
    x = keras.Input((10, 10, 6))
    a = L.Conv2D(16, 1, activation="relu")(x)
    b = L.BatchNormalization()(L.Conv2D(16, 1)(x))
    h = L.ReLU()(L.Add()([a, b]))
    h = L.Conv2D(12, 3)(h)
    s = L.Subtract()([h, L.Conv2D(12, 3, activation="elu")(x)])
    h = L.GlobalMaxPooling2D()(s)
    return keras.Model(x, L.Dense(5)(h), name="residual")


def concatenation():
    x = keras.Input((8, 8, 4))
    a = L.Conv2D(8, 1, activation="relu")(x)
    b = L.Conv2D(12, 1, activation="sigmoid")(x)
    h = L.Concatenate()([a, b])
    h = L.Conv2D(10, 3, activation="relu")(h)
    h = L.AveragePooling2D(2, padding="same")(h)
    h = L.Flatten()(h)
    return keras.Model(x, L.Dense(6)(h), name="concatenation")


def squeeze_excitation():
    x = keras.Input((8, 8, 4))
    h = L.Conv2D(16, 1, activation="relu")(x)
    s = L.GlobalAveragePooling2D(keepdims=True)(h)
    s = L.Dense(4, activation="relu")(s)
    s = L.Dense(16, activation="sigmoid")(s)
    h = L.Multiply()([h, s])
    h = L.Conv2D(8, 1)(h)
    h = L.GlobalAveragePooling2D()(h)
    return keras.Model(x, L.Dense(3)(h), name="squeeze_excitation")


def depthwise_separable():
    x = keras.Input((12, 12, 3))
    h = L.Conv2D(8, 1, activation="relu")(x)
    h = L.DepthwiseConv2D(3, depth_multiplier=2)(h)
    h = L.ReLU(max_value=6.0)(L.BatchNormalization()(h))
    h = L.SeparableConv2D(12, 3, depth_multiplier=2, activation="relu")(h)
    h = L.GlobalAveragePooling2D()(h)
    return keras.Model(x, L.Dense(4)(h), name="depthwise_separable")


def batchnorm_everywhere():
    x = keras.Input((12,))
    h = L.BatchNormalization()(x)
    h = L.Dense(32)(h)
    h = L.LeakyReLU(negative_slope=0.1)(L.BatchNormalization()(h))
    h = L.Dense(32, use_bias=False)(h)
    h = L.Dropout(0.3)(L.BatchNormalization()(h))
    h = L.Dense(16, activation="sigmoid")(h)
    return keras.Model(x, L.Dense(4)(L.BatchNormalization()(h)), name="batchnorm_everywhere")


def flatten_dense():
    x = keras.Input((9, 9, 2))
    h = L.Conv2D(8, 3, strides=2, activation="relu")(x)
    h = L.ZeroPadding2D()(h)
    h = L.Flatten()(h)
    h = L.Dense(16, activation="relu")(h)
    return keras.Model(x, L.Dense(4)(h), name="flatten_dense")


def same_padding():
    x = keras.Input((8, 8, 3))
    h = L.Conv2D(12, 3, padding="same", activation="relu")(x)
    h = L.Conv2D(12, 3, padding="same")(h)
    h = L.Conv1D(6, 1)(L.Reshape((64, 12))(h))
    return keras.Model(x, L.Dense(4)(L.Flatten()(h)), name="same_padding")


def gated():
    x = keras.Input((10,))
    h = ns.Gate()(L.Dense(32, activation="relu")(x))
    h = ns.Gate()(L.Dense(24)(h))
    h = L.Activation("tanh")(h)
    h = ns.Gate()(L.Dense(16, activation="sigmoid")(h))
    return keras.Model(x, L.Dense(4)(h), name="gated")


def gated_conv():
    x = keras.Input((10, 10, 3))
    h = ns.Gate()(L.Conv2D(12, 3, activation="relu")(x))
    h = ns.Gate()(L.BatchNormalization()(L.Conv2D(12, 3, padding="same")(h)))
    h = L.MaxPooling2D()(h)
    return keras.Model(x, L.Dense(3)(L.Flatten()(h)), name="gated_conv")


def tri_state():
    x = keras.Input((10,))
    h = ns.TriStateReLU()(L.Dense(32)(x))
    h = ns.TriStateReLU()(L.Dense(24)(h))
    h = ns.TriStateReLU()(L.BatchNormalization()(L.Dense(16)(h)))
    return keras.Model(x, L.Dense(4)(h), name="tri_state")


def sequential():
    return keras.Sequential([
        keras.Input((14,)), L.Dense(20, activation="relu"), L.Dense(20, activation="softplus"),
        L.Dense(3)], name="sequential")


FACTORIES = [mlp, lenet, vgg_bn, residual, concatenation, squeeze_excitation,
             depthwise_separable, batchnorm_everywhere, flatten_dense, same_padding, gated,
             gated_conv, tri_state, sequential]


def kill_units(model, share, rng):
    """Kills about ``share`` of the units of every prunable layer (zero incoming groups,
    theta <= 0, width gate < 0.5) and randomizes biases and BatchNorm statistics so the dead
    units emit non-zero constants."""
    for layer in model.layers:
        spec = None if grouping.is_grouped_convolution(layer) else grouping.unit_spec(layer)
        if spec is not None:
            _kill_unit_layer(layer, spec, share, rng)
        elif isinstance(layer, ns.Gate):
            theta = rng.uniform(0.5, 1.5, layer.theta.shape)
            layer.theta.assign(np.where(rng.random(theta.shape) < share, -0.1, theta))
        elif isinstance(layer, ns.TriStateReLU):
            width = np.where(rng.random(layer.width_gate.shape) < share, 0.2, 0.9)
            layer.width_gate.assign(width)
            layer.depth_gate.assign(float(rng.integers(0, 2)))
        elif isinstance(layer, L.BatchNormalization):
            randomize_batchnorm(layer, rng)
    return model


def randomize_batchnorm(layer, rng):
    """Non-trivial gamma, beta, moving mean and variance (those the layer has: scale=False
    has no gamma), so a BN fold is really tested."""
    draw = {"gamma": lambda shape: rng.uniform(0.5, 1.5, shape),
            "beta": lambda shape: rng.normal(0, 0.5, shape),
            "moving_mean": lambda shape: rng.normal(0, 0.5, shape),
            "moving_variance": lambda shape: rng.uniform(0.5, 2.0, shape)}
    layer.set_weights([draw[w.name](w.shape) for w in layer.weights])


def _kill_unit_layer(layer, spec, share, rng):
    kernel = getattr(layer, spec.kernel)
    units = grouping.num_units(tuple(kernel.shape), spec.layout)
    alive = (rng.random(units) >= share).astype("float32")
    scaled = grouping.scale_units(keras.ops.convert_to_numpy(kernel), spec.layout,
                                  grouping.INCOMING, alive)
    kernel.assign(scaled)
    bias = getattr(layer, spec.bias, None) if spec.bias else None
    if bias is not None:
        bias.assign(rng.normal(0, 0.5, bias.shape))


def random_inputs(model, rng, batch=4):
    """Random inputs matching ``model``'s input shape."""
    shape = (batch,) + tuple(model.inputs[0].shape[1:])
    return rng.normal(0, 1, shape).astype("float32")
