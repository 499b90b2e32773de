"""Equivalence of shrunk models, plan bookkeeping, and refusals with exact messages."""

import json

import keras
import numpy as np
import pytest

import tf_neuronselect as ns
from tests.helpers import model_zoo
from tests.helpers.checks import assert_equivalent
from tests.helpers.checks import assert_stock_only
from tests.helpers.errors import exactly

L = keras.layers


@pytest.mark.parametrize("factory", model_zoo.FACTORIES, ids=lambda f: f.__name__)
@pytest.mark.parametrize("seed", [0, 1])
def test_shrink_is_exact_and_smaller(factory, seed):
    rng = np.random.default_rng(seed)
    model = model_zoo.kill_units(factory(), 0.4, rng)
    plan = ns.make_plan(model)
    shrunk = ns.shrink(model)
    assert_equivalent(model, shrunk, model_zoo.random_inputs(model, rng))
    assert shrunk.count_params() == plan.params_after
    assert plan.params_after < model.count_params()
    assert_stock_only(shrunk)


@pytest.mark.parametrize("factory", model_zoo.FACTORIES, ids=lambda f: f.__name__)
def test_shrink_without_dead_units_keeps_everything(factory):
    model = factory()
    shrunk = ns.shrink(model)
    params = sum(layer.count_params() for layer in model.layers
                 if isinstance(layer, (ns.Gate, ns.TriStateReLU)))
    assert shrunk.count_params() == model.count_params() - params
    assert shrunk.name == model.name
    assert_equivalent(model, shrunk, model_zoo.random_inputs(model, np.random.default_rng(0)))


def test_round_to_keeps_multiples_and_stays_exact():
    rng = np.random.default_rng(3)
    model = model_zoo.kill_units(model_zoo.lenet(), 0.5, rng)
    shrunk = ns.shrink(model, round_to=8)
    widths = [layer.filters if hasattr(layer, "filters") else layer.units
              for layer in shrunk.layers if isinstance(layer, (L.Conv2D, L.Dense))][:-1]
    assert all(w % 8 == 0 for w in widths), widths
    assert_equivalent(model, shrunk, model_zoo.random_inputs(model, rng))


def test_dead_unit_kept_when_same_padding_constant_is_nonzero():
    x = keras.Input((6, 6, 2))
    h = L.Conv2D(4, 1)(x)
    y = L.Conv2D(3, 3, padding="same")(h)
    model = keras.Model(x, y)
    kernel, bias = model.layers[1].get_weights()
    kernel[..., 0] = 0.0
    bias[:] = [0.7, 0.1, 0.2, 0.3]
    model.layers[1].set_weights([kernel, bias])
    plan = ns.make_plan(model)
    layer_plan = plan.layers[model.layers[1].name]
    assert len(layer_plan.keep_out) == 4
    assert any("'same' padding" in note for note in layer_plan.notes)


def test_dead_unit_with_zero_constant_goes_through_same_padding():
    x = keras.Input((6, 6, 2))
    h = L.Conv2D(4, 1, activation="relu")(x)
    y = L.Conv2D(3, 3, padding="same")(h)
    model = keras.Model(x, y)
    kernel, bias = model.layers[1].get_weights()
    kernel[..., 0] = 0.0
    bias[:] = [-0.7, 0.1, 0.2, 0.3]
    model.layers[1].set_weights([kernel, bias])
    shrunk = ns.shrink(model)
    assert shrunk.layers[1].filters == 3
    assert_equivalent(model, shrunk, np.random.default_rng(0).normal(size=(2, 6, 6, 2)))


def test_bias_is_switched_on_to_hold_a_fold():
    x = keras.Input((5,))
    h = L.Dense(6, activation="sigmoid")(x)
    y = L.Dense(3, use_bias=False)(h)
    model = keras.Model(x, y)
    kernel, bias = model.layers[1].get_weights()
    kernel[:, :2] = 0.0
    model.layers[1].set_weights([kernel, bias])
    plan = ns.make_plan(model)
    assert plan.layers[model.layers[2].name].enable_bias
    shrunk = ns.shrink(model)
    assert shrunk.layers[2].use_bias and shrunk.layers[1].units == 4
    assert_equivalent(model, shrunk, np.random.default_rng(0).normal(size=(3, 5)))


def test_zero_outgoing_group_removes_live_unit():
    x = keras.Input((5,))
    h = L.Dense(6, activation="relu")(x)
    y = L.Dense(3)(h)
    model = keras.Model(x, y)
    kernel, bias = model.layers[2].get_weights()
    kernel[1] = 0.0
    model.layers[2].set_weights([kernel, bias])
    plan = ns.make_plan(model)
    assert plan.layers[model.layers[1].name].reasons == {"zero outgoing group": 1}
    assert_equivalent(model, ns.shrink(model), np.random.default_rng(0).normal(size=(3, 5)))


def test_mask_that_would_empty_a_layer_keeps_the_strongest():
    x = keras.Input((4,))
    h = L.Dense(5, activation="relu")(x)
    y = L.Dense(2)(h)
    model = keras.Model(x, y)
    kernel, bias = model.layers[1].get_weights()
    kernel[:] = 0.0
    kernel[0, 3] = 1e-9  # below tol but the strongest
    model.layers[1].set_weights([kernel, bias])
    plan = ns.make_plan(model, tol=1e-6)
    layer_plan = plan.layers[model.layers[1].name]
    assert layer_plan.keep_out.tolist() == [3]
    assert layer_plan.notes == ["kept (strongest) so the layer is not empty: units [3]",
                                "kept 1 dead unit(s): kept (strongest) so the layer is not empty"]
    assert ns.shrink(model, tol=1e-6).layers[1].units == 1


def test_units_feeding_an_output_are_kept():
    x = keras.Input((4,))
    model = keras.Model(x, L.Dense(3)(x))
    kernel, bias = model.layers[1].get_weights()
    model.layers[1].set_weights([np.zeros_like(kernel), bias])
    layer_plan = ns.make_plan(model).layers[model.layers[1].name]
    assert len(layer_plan.keep_out) == 3
    assert layer_plan.notes == ["kept 3 dead unit(s): feeds a model output"]


def test_softmax_activation_blocks_removal():
    x = keras.Input((4,))
    h = L.Activation("softmax")(L.Dense(6)(x))
    model = keras.Model(x, L.Dense(2)(h))
    kernel, bias = model.layers[1].get_weights()
    kernel[:, 0] = 0.0
    model.layers[1].set_weights([kernel, bias])
    assert len(ns.make_plan(model).layers[model.layers[1].name].keep_out) == 6


def test_subclassed_model_is_refused():
    class Net(keras.Model):
        def __init__(self):
            super().__init__(name="net")
            self.dense = L.Dense(3)

        def call(self, x):
            return self.dense(x)

    with pytest.raises(TypeError) as info:
        ns.shrink(Net())
    assert str(info.value) == (
        "Expected a Functional or Sequential keras.Model. Received: Net 'net', a subclassed "
        "model whose graph cannot be read. How to fix: rebuild it with the functional API "
        "(keras.Model(inputs, outputs)) or keras.Sequential.")


class Doubler(keras.layers.Layer):
    def call(self, x):
        return 2.0 * x


def _custom_layer_model():
    x = keras.Input((4,))
    h = Doubler(name="doubler")(L.Dense(5, activation="relu", name="fc1")(x))
    model = keras.Model(x, L.Dense(2, name="fc2")(h))
    kernel, bias = model.get_layer("fc1").get_weights()
    kernel[:, 1:3] = 0.0
    model.get_layer("fc1").set_weights([kernel, bias])
    return model


def test_unknown_layer_in_a_slicing_position_is_refused():
    with pytest.raises(ValueError) as info:
        ns.shrink(_custom_layer_model())
    assert str(info.value) == (
        "Expected every layer that reads a removable channel to have a slicer. Received: "
        "layer 'doubler' of type Doubler reads channels [1, 2] of 'fc1', which are dead, and "
        "tf_neuronselect does not know how Doubler maps channels. How to fix: register a "
        "slicer with tf_neuronselect.register_slicer(Doubler, slicer) (for an element-wise "
        "layer, tf_neuronselect.surgery.Elementwise()), or revive those units.")


def test_registered_slicer_unlocks_unknown_layer():
    model = _custom_layer_model()
    ns.register_slicer(Doubler, ns.surgery.Elementwise())
    shrunk = ns.shrink(model)
    assert shrunk.get_layer("fc1").units == 3
    assert_equivalent(model, shrunk, np.random.default_rng(0).normal(size=(3, 4)))


def test_non_finite_weights_are_refused():
    x = keras.Input((4,))
    model = keras.Model(x, L.Dense(2, name="head")(L.Dense(3, name="fc")(x)))
    kernel, bias = model.get_layer("fc").get_weights()
    kernel[0, 0] = np.nan
    model.get_layer("fc").set_weights([kernel, bias])
    with pytest.raises(ValueError, match="Received: layer 'fc' \\(Dense\\) has NaN or inf"):
        ns.shrink(model)


def test_shared_layer_is_refused():
    x = keras.Input((4,))
    dense = L.Dense(4, name="shared")
    model = keras.Model(x, dense(dense(x)))
    with pytest.raises(ValueError, match="layer 'shared' \\(Dense\\) is shared \\(2 calls\\)"):
        ns.shrink(model)


def test_bad_arguments():
    model = model_zoo.mlp()
    with pytest.raises(ValueError, match=exactly(
            "shrink: expected `round_to` to be None or a positive int. Received: round_to=0. "
            "How to fix: pass e.g. round_to=8.")):
        ns.shrink(model, round_to=0)
    with pytest.raises(ValueError, match=exactly(
            "shrink: expected `tol` to be a finite float >= 0. Received: tol=-1.0. Pass a value "
            "such as tol=1e-3 (0 disables this term).")):
        ns.shrink(model, tol=-1.0)


def test_report_table_and_dict():
    rng = np.random.default_rng(0)
    model = model_zoo.kill_units(model_zoo.gated(), 0.4, rng)
    x = model_zoo.random_inputs(model, rng)
    report = ns.report(model, sample_inputs=x)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["totals"]["params_after"] == ns.shrink(model).count_params()
    assert report.max_output_change <= 1e-5
    gates = [r for r in report.layers if r.class_name == "Gate"]
    # A gate's channel goes because the gate closed, or because the unit before it died.
    assert all(why == "gate <= 0" or why.startswith("zero incoming group in '")
               for r in gates for why in r.reasons)
    assert sum(r.dead for r in gates) > 0
    text = str(report)
    assert "kept/units" in text and "total params" in text


def test_report_with_tol_measures_the_change():
    rng = np.random.default_rng(0)
    model = model_zoo.mlp()
    layer = model.layers[1]
    kernel, bias = layer.get_weights()
    kernel[:, :8] *= 1e-4
    layer.set_weights([kernel, bias])
    x = model_zoo.random_inputs(model, rng)
    report = ns.report(model, tol=1e-2, sample_inputs=x)
    first = report.layers[0]
    assert first.reasons == {"norm below tol": 8}
    assert 0 < report.max_output_change < 1e-2


def test_shrunk_model_saves_and_loads_without_the_library(tmp_path):
    rng = np.random.default_rng(0)
    model = model_zoo.kill_units(model_zoo.gated_conv(), 0.4, rng)
    shrunk = ns.shrink(model)
    path = str(tmp_path / "small.keras")
    shrunk.save(path)
    loaded = keras.saving.load_model(path, custom_objects={}, safe_mode=True)
    assert_equivalent(model, loaded, model_zoo.random_inputs(model, rng))


@pytest.mark.slow  # full-depth ResNet50 and MobileNetV2
@pytest.mark.parametrize("name", ["mobilenet_v2", "resnet50"])
def test_keras_applications_stay_exact(name):
    if name == "mobilenet_v2":
        model = keras.applications.MobileNetV2(input_shape=(32, 32, 3), alpha=0.35,
                                               weights=None, classifier_activation=None)
    else:
        model = keras.applications.ResNet50(input_shape=(32, 32, 3), weights=None,
                                            classifier_activation=None)
    rng = np.random.default_rng(0)
    model_zoo.kill_units(model, 0.3, rng)
    plan = ns.make_plan(model)
    shrunk = ns.shrink(model)
    assert_equivalent(model, shrunk, model_zoo.random_inputs(model, rng, batch=2))
    assert shrunk.count_params() == plan.params_after < model.count_params()


@pytest.mark.parametrize("method", ["group-lasso", "gate", "tri-state"])
@pytest.mark.parametrize("arch", ["lenet5", "mlp", "vgg"])
def test_recipe_networks_shrink_exactly(arch, method):
    """The benchmark networks of ``recipes`` with units killed the way training kills them
    (zero incoming weights and bias, closed gates) shrink to exactly the same function."""
    from tf_neuronselect.examples import recipes

    rng = np.random.default_rng(0)
    model = recipes.build(arch, method, (28, 28, 1), 10, 1e-3, layer_scale={"conv1": 0.5})
    model_zoo.kill_units(model, 0.4, rng)
    if method == "group-lasso":  # the proximal step zeroes a dead unit's bias with its kernel
        for layer in model.layers:
            if layer.name.startswith(("conv", "fc")):
                dead = np.abs(keras.ops.convert_to_numpy(layer.kernel)).reshape(
                    -1, layer.kernel.shape[-1]).sum(axis=0) == 0
                layer.bias.assign(np.where(dead, 0.0, keras.ops.convert_to_numpy(layer.bias)))
    shrunk = ns.shrink(model)
    assert_equivalent(model, shrunk, model_zoo.random_inputs(model, rng))
    assert_stock_only(shrunk)
    assert shrunk.count_params() < model.count_params()
    if method == "group-lasso":  # every hidden layer lost its dead units
        for layer in model.layers:
            if layer.name.startswith(("conv", "fc")):
                assert shrunk.get_layer(layer.name).kernel.shape[-1] < layer.kernel.shape[-1]
