"""Random small functional graphs and random dead masks, shared by the fuzz tests.

Grows the generator of test_surgery_properties.py: Dense, Conv (1x1, 3x3 'valid'/'same'),
Conv2DTranspose, DepthwiseConv, SeparableConv, BatchNormalization, Add, Subtract, Multiply,
Maximum, Average, Concatenate, max / average / global pooling, UpSampling, Cropping,
ZeroPadding, Flatten, Reshape, ReLU, LeakyReLU, softmax, Dropout, Gate and TriStateReLU, on
rank-4 and (after Flatten / Reshape / global pooling) rank-2 tensors, with one or two model
outputs.

``build_graph(draw)`` takes any ``draw(strategy)`` (``hypothesis`` ``data.draw``), so the same
generator serves hypothesis tests and plain loops. ``apply_dead_mask`` kills units on an
already-built model (incoming and outgoing groups, gates, zero or random biases, BatchNorm
statistics), so one graph can be checked under many masks without being rebuilt.
"""

import keras
import numpy as np
from hypothesis import strategies as st

import tf_neuronselect as ns
from tests.helpers.model_zoo import randomize_batchnorm
from tf_neuronselect import grouping

L = keras.layers

OPS_4D = ["conv1", "conv3", "conv3same", "dense", "bn", "add", "subtract", "multiply",
          "maximum", "average", "concat", "maxpool", "avgpool", "relu", "leaky", "softmax",
          "dropout", "depthwise", "separable", "transpose", "upsample", "crop", "gate",
          "tristate", "zeropad", "flatten", "reshape", "globalpool"]
OPS_2D = ["dense", "bn", "add", "multiply", "maximum", "concat", "relu", "leaky", "softmax",
          "dropout", "gate", "tristate"]
ACTIVATIONS = [None, "relu", "sigmoid", "tanh", "softmax"]


def _partners(tensors, tensor):
    """Tensors that can meet ``tensor`` in a merge: same rank and same non-channel axes."""
    return [t for t in tensors if tuple(t.shape[:-1]) == tuple(tensor.shape[:-1])]


def _step(draw, tensors):
    src = tensors[draw(st.integers(0, len(tensors) - 1))]
    rank4 = len(src.shape) == 4
    op = draw(st.sampled_from(OPS_4D if rank4 else OPS_2D))
    width = draw(st.integers(1, 6))
    activation = draw(st.sampled_from(ACTIVATIONS))
    use_bias = draw(st.booleans())
    spatial = min(src.shape[1:-1]) if rank4 else 0
    if op == "conv3" and spatial >= 3:
        return L.Conv2D(width, 3, activation=activation, use_bias=use_bias)(src)
    if op == "conv3same":
        return L.Conv2D(width, 3, padding="same", activation=activation)(src)
    if op == "dense":
        return L.Dense(width, activation=activation, use_bias=use_bias)(src)
    if op == "bn":
        return L.BatchNormalization()(src)
    if op == "relu":
        return L.ReLU()(src)
    if op == "leaky":
        return L.LeakyReLU(negative_slope=0.2)(src)
    if op == "softmax":
        return L.Activation("softmax")(src)
    if op == "dropout":
        return L.Dropout(0.5)(src)
    if op == "transpose" and spatial <= 6:
        return L.Conv2DTranspose(width, 2, strides=draw(st.sampled_from([1, 2])))(src)
    if op == "upsample" and spatial <= 4:
        return L.UpSampling2D(2)(src)
    if op == "crop" and spatial >= 3:
        return L.Cropping2D(1)(src)
    if op == "reshape":
        return L.Reshape((int(np.prod(src.shape[1:])),))(src)
    if op == "maxpool":
        return L.MaxPooling2D(2, padding="same")(src)
    if op == "avgpool" and spatial >= 2:
        return L.AveragePooling2D(2)(src)
    if op == "depthwise" and spatial >= 3:
        return L.DepthwiseConv2D(3, depth_multiplier=draw(st.integers(1, 2)),
                                 padding=draw(st.sampled_from(["valid", "same"])))(src)
    if op == "separable" and spatial >= 3:
        return L.SeparableConv2D(width, 3, activation=activation)(src)
    if op == "gate":
        return ns.Gate()(src)
    if op == "tristate":
        return ns.TriStateReLU()(src)
    if op == "zeropad":
        return L.ZeroPadding2D(1)(src)
    if op == "flatten":
        return L.Flatten()(src)
    if op == "globalpool":
        pool = draw(st.sampled_from([L.GlobalAveragePooling2D, L.GlobalMaxPooling2D]))
        return pool()(src)
    partners = _partners(tensors, src)
    other = partners[draw(st.integers(0, len(partners) - 1))]
    if op in ("add", "subtract", "multiply", "maximum", "average"):
        merge = {"add": L.Add, "subtract": L.Subtract, "multiply": L.Multiply,
                 "maximum": L.Maximum, "average": L.Average}[op]
        projection = (L.Conv2D(src.shape[-1], 1, activation=activation) if rank4
                      else L.Dense(src.shape[-1], activation=activation))
        return merge()([src, projection(other)])
    if op == "concat":
        return L.Concatenate()([src, other])
    return L.Conv2D(width, 1, activation=activation)(src)


def _head(tensor, units=3):
    if len(tensor.shape) > 2:
        tensor = L.Flatten()(tensor)
    return L.Dense(units)(tensor)


def build_graph(draw, max_steps=6):
    """A random functional model: input (H, W, C) with H, W in 4..6, 1-``max_steps`` steps, a
    Dense head and sometimes a second head on an earlier tensor."""
    size = draw(st.integers(4, 6))
    inputs = keras.Input((size, size, draw(st.integers(1, 3))))
    tensors = [inputs]
    for _ in range(draw(st.integers(1, max_steps))):
        tensors.append(_step(draw, tensors))
    outputs = [_head(tensors[-1])]
    if len(tensors) > 2 and draw(st.booleans()):
        outputs.append(_head(tensors[draw(st.integers(1, len(tensors) - 2))], units=2))
    return keras.Model(inputs, outputs if len(outputs) > 1 else outputs[0])


def apply_dead_mask(model, rng, share):
    """Kills about ``share`` of the units of every prunable layer in place.

    Beyond ``model_zoo.kill_units``: some layers lose whole outgoing groups (input rows), some
    biases are zeroed (so dead units emit exactly zero and may cross 'same' padding), gates
    are set exactly to their thresholds, and BatchNorm statistics are random.
    """
    for layer in model.layers:
        spec = grouping.unit_spec(layer)
        if spec is not None:
            _mask_unit_layer(layer, spec, share, rng)
        elif isinstance(layer, ns.Gate):
            theta = rng.uniform(0.5, 1.5, layer.theta.shape)
            theta = np.where(rng.random(theta.shape) < share,
                             rng.choice([0.0, -0.3], theta.shape), theta)
            layer.theta.assign(theta.astype("float32"))
        elif isinstance(layer, ns.TriStateReLU):
            width = np.where(rng.random(layer.width_gate.shape) < share,
                             rng.choice([0.0, 0.2, 0.49], layer.width_gate.shape),
                             rng.choice([0.5, 0.9, 1.0], layer.width_gate.shape))
            layer.width_gate.assign(width.astype("float32"))
            layer.depth_gate.assign(float(rng.choice([0.0, 0.3, 0.5, 1.0])))
        elif isinstance(layer, L.BatchNormalization):
            randomize_batchnorm(layer, rng)
    return model


def _mask_unit_layer(layer, spec, share, rng):
    kernel_var = getattr(layer, spec.kernel)
    kernel = keras.ops.convert_to_numpy(kernel_var)
    units = grouping.num_units(kernel.shape, spec.layout)
    alive = (rng.random(units) >= share).astype("float32")
    kernel = grouping.scale_units(kernel, spec.layout, grouping.INCOMING, alive)
    if not spec.depthwise and spec.layout != grouping.DEPTHWISE and rng.random() < 0.3:
        rows = grouping.num_units(kernel.shape, spec.layout, grouping.OUTGOING)
        used = (rng.random(rows) >= share / 2).astype("float32")
        kernel = grouping.scale_units(kernel, spec.layout, grouping.OUTGOING, used)
    kernel_var.assign(kernel)
    bias = getattr(layer, spec.bias, None) if spec.bias else None
    if bias is not None:
        values = rng.normal(0, 0.5, bias.shape)
        if rng.random() < 0.3:
            values[:] = 0.0
        bias.assign(values.astype("float32"))


def outputs_of(model, x):
    """The model's outputs on ``x`` (inference mode) as a list of NumPy arrays."""
    return [keras.ops.convert_to_numpy(y) for y in keras.tree.flatten(model(x, training=False))]


def max_relative_error(before, after):
    """``max |after - before| / max(1, max |before|)`` over every output."""
    worst = 0.0
    for a, b in zip(before, after):
        if a.shape != b.shape:
            return float("inf")
        worst = max(worst, float(np.max(np.abs(a - b))) / max(1.0, float(np.max(np.abs(a)))))
    return worst
