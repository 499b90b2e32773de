"""Graphs the rewriter reads through: nested models and ``keras.ops`` calls (op nodes)."""

import keras
import numpy as np
import pytest
from keras import ops

import tf_neuronselect as ns
from tests.helpers import model_zoo
from tests.helpers.checks import assert_equivalent
from tests.helpers.checks import assert_stock_only
from tests.helpers.errors import exactly

L = keras.layers


def _kill(layer, units):
    """Zeroes the incoming kernel and bias of ``units`` of a Dense/Conv layer."""
    kernel = keras.ops.convert_to_numpy(layer.kernel).copy()
    kernel[..., units] = 0.0
    layer.kernel.assign(kernel)
    if layer.use_bias:
        bias = keras.ops.convert_to_numpy(layer.bias).copy()
        bias[units] = 0.0
        layer.bias.assign(bias)


def _nested_model():
    inner = keras.Sequential([keras.Input((8, 8, 6)), L.Conv2D(12, 3, name="inner_conv"),
                              L.BatchNormalization(name="inner_bn"), L.ReLU(name="inner_relu")],
                             name="stem")
    x = keras.Input((8, 8, 6))
    h = inner(x)
    h = L.Conv2D(10, 1, activation="relu", name="outer_conv")(h)
    h = L.GlobalAveragePooling2D(name="pool")(h)
    return keras.Model(x, L.Dense(3, name="head")(h), name="outer")


def test_a_nested_model_is_read_through_and_the_result_is_flat(tmp_path):
    rng = np.random.default_rng(0)
    model = _nested_model()
    model_zoo.randomize_batchnorm(model.get_layer("stem").get_layer("inner_bn"), rng)
    _kill(model.get_layer("stem").get_layer("inner_conv"), [0, 3, 7])
    _kill(model.get_layer("outer_conv"), [1, 2])
    shrunk = ns.shrink(model)
    assert_equivalent(model, shrunk, rng.normal(size=(4, 8, 8, 6)).astype("float32"))
    assert_stock_only(shrunk)
    assert not any(isinstance(layer, keras.Model) for layer in shrunk.layers)
    # The dead convolution units emit BatchNorm's shift, which the outer 1x1 conv folds.
    assert shrunk.get_layer("inner_conv").filters == 9
    assert shrunk.get_layer("outer_conv").filters == 8
    shrunk.save(tmp_path / "flat.keras")
    assert keras.models.load_model(tmp_path / "flat.keras").count_params() == \
        shrunk.count_params()


def test_a_nested_functional_model_called_with_training_false_is_read_through():
    inner_in = keras.Input((6,))
    h = L.Dense(16, activation="relu", name="inner_dense")(inner_in)
    h = L.Dropout(0.5, name="inner_dropout")(h)
    inner = keras.Model(inner_in, L.BatchNormalization(name="inner_bn")(h), name="backbone")
    x = keras.Input((6,))
    model = keras.Model(x, L.Dense(2, name="head")(inner(x, training=False)))
    rng = np.random.default_rng(1)
    model_zoo.randomize_batchnorm(inner.get_layer("inner_bn"), rng)
    _kill(inner.get_layer("inner_dense"), [2, 5])
    shrunk = ns.shrink(model)
    assert_equivalent(model, shrunk, rng.normal(size=(8, 6)).astype("float32"))
    assert shrunk.get_layer("inner_dense").units == 14


def test_nested_models_with_clashing_layer_names_are_refused():
    inner = keras.Sequential([keras.Input((4,)), L.Dense(4, name="dense")], name="inner")
    x = keras.Input((4,))
    model = keras.Model(x, L.Dense(2, name="dense_out")(L.Dense(4, name="dense")(inner(x))))
    with pytest.raises(ValueError, match=exactly(
            "Expected every layer of a model and of its nested models to have its own name. "
            "Received: the names ['dense'] are used more than once. How to fix: give the "
            "layers of the nested models distinct names (name=... when building them).")):
        ns.shrink(model)


def test_a_nested_subclassed_model_is_refused():
    class Scaled(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = L.Dense(4)

        def call(self, x):
            return self.dense(x) * 2.0

    x = keras.Input((4,))
    model = keras.Model(x, Scaled(name="scaled")(x))
    with pytest.raises(TypeError, match=exactly(
            "Expected nested models to be Functional or Sequential. Received: nested model "
            "'scaled' (Scaled), a subclassed model whose graph cannot be read. How to fix: "
            "rebuild it with the functional API or keras.Sequential.")):
        ns.shrink(model)


def _hard_sigmoid_se_model():
    """MobileNetV3's pattern: hard-swish by ops, a squeeze-and-excitation gate built from
    ``x + 3``, ``relu6`` and ``* (1 / 6)`` op nodes, a per-channel constant added by an op."""
    x = keras.Input((6, 6, 4))
    h = L.Conv2D(8, 1, name="expand")(x)
    h = h * ops.relu6(h + 3.0) * (1.0 / 6.0)
    s = L.GlobalAveragePooling2D(keepdims=True, name="squeeze")(h)
    s = L.Conv2D(3, 1, activation="relu", name="reduce")(s)
    s = L.Conv2D(8, 1, name="excite")(s)
    gate = ops.relu6(s + 3.0) / 6.0
    h = h * gate
    h = ops.add(h, np.linspace(-1.0, 1.0, 8).astype("float32"))
    h = L.Conv2D(5, 1, name="project")(h)
    return keras.Model(x, L.Dense(2, name="head")(L.Flatten(name="flat")(h)))


def test_op_nodes_keep_channels_and_their_array_constants_are_sliced():
    model = _hard_sigmoid_se_model()
    _kill(model.get_layer("expand"), [1, 4, 6])
    rng = np.random.default_rng(2)
    shrunk = ns.shrink(model)
    assert_equivalent(model, shrunk, rng.normal(size=(3, 6, 6, 4)).astype("float32"))
    # hard_swish(0) = 0 and zero times the gate is zero: the channels go through the ops, the
    # gate's excite units with them; the added per-channel constant is folded into 'project'.
    assert shrunk.get_layer("expand").filters == 5
    assert shrunk.get_layer("excite").filters == 5
    assert shrunk.get_layer("project").kernel.shape[-2] == 5


def test_an_op_nobody_knows_is_refused_by_name():
    x = keras.Input((4,))
    h = L.Dense(6, name="dense")(x)
    h = ops.cumsum(h, axis=-1)  # mixes channels: no slicer
    model = keras.Model(x, L.Dense(2, name="head")(h))
    _kill(model.get_layer("dense"), [0])
    with pytest.raises(ValueError, match=r"Received: layer 'cumsum' of type Cumsum reads "
                                         r"channels \[0\] of 'dense', which are dead"):
        ns.shrink(model)


def test_zero_times_anything_is_zero():
    x = keras.Input((5, 5, 3))
    h = L.Conv2D(6, 3, activation="relu", name="features")(x)
    gate = L.Conv2D(6, 3, activation="sigmoid", name="gate")(x)
    h = L.Multiply(name="multiply")([h, gate])
    model = keras.Model(x, L.Dense(2, name="head")(L.Flatten(name="flat")(h)))
    _kill(model.get_layer("features"), [0, 5])
    shrunk = ns.shrink(model)
    assert_equivalent(model, shrunk, np.random.default_rng(3).normal(size=(2, 5, 5, 3)))
    # sigmoid(bias) of the gate is data-dependent, but it multiplies an exact zero.
    assert shrunk.get_layer("gate").filters == 4 == shrunk.get_layer("features").filters


def test_batchnorm_with_zero_gamma_and_beta_silences_a_live_channel():
    x = keras.Input((5, 5, 3))
    h = L.Conv2D(6, 3, name="conv")(x)
    h = L.ReLU(name="relu")(L.BatchNormalization(name="bn")(h))
    model = keras.Model(x, L.Dense(2, name="head")(L.GlobalAveragePooling2D(name="pool")(h)))
    bn = model.get_layer("bn")
    model_zoo.randomize_batchnorm(bn, np.random.default_rng(4))
    gamma, beta, mean, variance = (keras.ops.convert_to_numpy(w).copy() for w in bn.weights)
    gamma[[1, 2]] = beta[[1, 2]] = 0.0
    bn.set_weights([gamma, beta, mean, variance])
    shrunk = ns.shrink(model)
    assert_equivalent(model, shrunk, np.random.default_rng(5).normal(size=(2, 5, 5, 3)))
    assert shrunk.get_layer("conv").filters == 4
    plan = ns.make_plan(model)
    assert plan.layers["conv"].reasons == {"gamma = 0 in BatchNormalization 'bn'": 2}
    assert "  conv: 2 gamma = 0 in BatchNormalization 'bn'" in str(ns.report(model)).splitlines()


@keras.saving.register_keras_serializable(package="test_graph_forms")
class ChannelScale(L.Layer):
    """A user's per-channel scale ``x * gamma`` whose config names its width."""

    def __init__(self, channels, **kwargs):
        super().__init__(**kwargs)
        self.channels = channels

    def build(self, input_shape):
        self.gamma = self.add_weight(shape=(self.channels,), initializer="ones", name="gamma")

    def call(self, x):
        return x * self.gamma

    def get_config(self):
        return {**super().get_config(), "channels": self.channels}


def test_a_registered_per_channel_scale_layer_is_narrowed_and_silences_zero_channels():
    x = keras.Input((6,))
    h = L.Dense(5, activation="tanh", name="dense")(x)
    h = ChannelScale(5, name="scale")(h)
    model = keras.Model(x, L.Dense(2, name="head")(h))
    with pytest.raises(ValueError, match="reads channels"):
        _kill(model.get_layer("dense"), [0])
        ns.shrink(model)
    ns.register_slicer(ChannelScale, ns.surgery.Scale("gamma", size_key="channels"))
    model.get_layer("scale").gamma.assign([1.0, 0.0, 2.0, 0.5, 0.0])  # channels 1, 4 silenced
    shrunk = ns.shrink(model)
    assert_equivalent(model, shrunk, np.random.default_rng(6).normal(size=(4, 6)))
    assert shrunk.get_layer("scale").channels == 2 and shrunk.get_layer("dense").units == 2
    assert ns.make_plan(model).layers["dense"].reasons == {"zero incoming group": 1,
                                                         "scale = 0 in 'scale'": 2}
