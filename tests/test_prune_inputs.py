"""shrink(model, prune_inputs=True): unused model-input features go through a SelectFeatures
layer; outputs, the input signature, saving and TFLite export stay exact."""

import keras
import numpy as np
import pytest

import tf_neuronselect as ns
from tf_neuronselect.exporting import run_tflite
from tf_neuronselect.layers import SelectFeatures

L = keras.layers


def _lenet300():
    # Flatten right after the input: its 64 flattened pixels are selected.
    inputs = keras.Input((8, 8, 1))
    x = L.Flatten()(inputs)
    x = L.Dense(24, activation="relu", name="fc1")(x)
    x = L.Dense(12, activation="relu", name="fc2")(x)
    return keras.Model(inputs, L.Dense(10)(x)), {"fc1": np.r_[0:20, 33, 40:45]}


def _flat_mlp():
    # The input's last axis itself is selected.
    inputs = keras.Input((30,))
    x = L.Dense(16, activation="relu", name="fc1")(inputs)
    return keras.Model(inputs, L.Dense(4)(x)), {"fc1": np.r_[0:7, 29]}


def _sequential():
    model = keras.Sequential([keras.Input((6, 6)), L.Flatten(), L.Dense(10, activation="relu",
                                                                          name="fc1"), L.Dense(3)])
    return model, {"fc1": np.r_[5:17]}


def _batchnorm_first():
    # BatchNormalization between the input and its consumer is sliced with it.
    inputs = keras.Input((12,))
    x = L.BatchNormalization()(inputs)
    x = L.Dense(8, activation="relu", name="fc1")(x)
    return keras.Model(inputs, L.Dense(2)(x)), {"fc1": [1, 4, 5, 11]}


def _two_consumers():
    # A feature goes only if both consumers leave it unused: {2, 3} of 12.
    inputs = keras.Input((12,))
    a = L.Dense(6, activation="relu", name="a")(inputs)
    b = L.Dense(5, activation="tanh", name="b")(inputs)
    x = L.Concatenate()([a, b])
    return keras.Model(inputs, L.Dense(3)(x)), {"a": np.r_[0:4], "b": np.r_[2:6]}


def _conv_channels():
    # Conv input channels: channel 1 of 3 is unused by the (same-padded) convolution.
    inputs = keras.Input((7, 7, 3))
    x = L.Conv2D(4, 3, padding="same", activation="relu", name="conv")(inputs)
    x = L.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, L.Dense(2)(x)), {"conv": [1]}


# factory, input features kept / before, and the parameters that dropping the others saves
# (by hand: dropped features x the units reading each, plus 4 BatchNormalization weights each).
FACTORIES = {
    "lenet300": (_lenet300, 64 - 26, 64, 26 * 24),
    "flat_mlp": (_flat_mlp, 30 - 8, 30, 8 * 16),
    "sequential": (_sequential, 36 - 12, 36, 12 * 10),
    "batchnorm_first": (_batchnorm_first, 12 - 4, 12, 4 * (8 + 4)),
    "two_consumers": (_two_consumers, 12 - 2, 12, 2 * (6 + 5)),
    "conv_channels": (_conv_channels, 3 - 1, 3, 1 * 3 * 3 * 4),
}


def _zero_rows(layer, rows):
    kernel, *rest = layer.get_weights()
    kernel[..., rows, :] = 0.0
    layer.set_weights([kernel, *rest])


def _build(name):
    keras.utils.set_random_seed(3)
    factory = FACTORIES[name][0]
    model, zeroed = factory()
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            layer.moving_mean.assign(np.linspace(-1, 1, 12).astype("float32"))
            layer.moving_variance.assign(np.linspace(0.5, 2, 12).astype("float32"))
    for layer_name, rows in zeroed.items():
        _zero_rows(model.get_layer(layer_name), rows)
    return model


def _inputs(model, n=16, seed=0):
    shape = (n, *model.inputs[0].shape[1:])
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _assert_same(expected, got):
    expected, got = np.asarray(expected), np.asarray(got)
    assert got.shape == expected.shape
    assert np.max(np.abs(got - expected)) <= 1e-5 * max(1.0, float(np.max(np.abs(expected))))


def _selects(model):
    return [layer for layer in model.layers if isinstance(layer, SelectFeatures)]


@pytest.fixture(params=sorted(FACTORIES))
def case(request):
    model = _build(request.param)
    compact = ns.shrink(model, prune_inputs=True)
    _, kept, total, saved = FACTORIES[request.param]
    return {"name": request.param, "model": model, "compact": compact, "kept": kept,
            "total": total, "saved": saved, "x": _inputs(model)}


def test_outputs_equal(case):
    _assert_same(case["model"](case["x"]), case["compact"](case["x"]))


def test_input_signature_kept(case):
    assert [tuple(t.shape) for t in case["compact"].inputs] == \
        [tuple(t.shape) for t in case["model"].inputs]


def test_features_dropped_exactly(case):
    (select,) = _selects(case["compact"])
    assert len(select.indices) == case["kept"]
    plan = ns.make_plan(case["model"], prune_inputs=True)
    assert plan.prune_inputs is True
    (line,) = [p for p in plan.layers.values() if p.select is not None]
    assert (line.units, len(line.select)) == (case["total"], case["kept"])
    assert f"input features {case['total']} -> {case['kept']}" in " ".join(line.notes)


def test_param_count_equals_plan_and_hand_count(case):
    plan = ns.make_plan(case["model"], prune_inputs=True)
    expected = case["model"].count_params() - case["saved"]  # no unit is dead: only features go
    assert case["compact"].count_params() == plan.params_after == expected


def test_report_shows_input_features(case):
    result = ns.report(case["model"], prune_inputs=True, sample_inputs=case["x"])
    (line,) = [r for r in result.layers if any("input features" in n for n in r.notes)]
    assert (line.kept, line.units) == (case["kept"], case["total"])
    assert result.total("params_after") == case["compact"].count_params()
    assert result.max_output_change <= 1e-5 * max(1.0, float(np.max(np.abs(
        case["model"](case["x"])))))


def test_save_load_round_trip(case, tmp_path):
    path = tmp_path / "compact.keras"
    case["compact"].save(path)
    loaded = keras.models.load_model(path)
    assert len(_selects(loaded)) == 1
    _assert_same(case["compact"](case["x"]), loaded(case["x"]))


@pytest.mark.parametrize("name", ["lenet300", "flat_mlp", "conv_channels"])
def test_tflite_float32_equals_keras(name, tmp_path):
    model = _build(name)
    compact = ns.shrink(model, prune_inputs=True)
    ns.export(compact, tmp_path / "out", formats="tflite")
    x = _inputs(model, 8, seed=1)
    got = run_tflite(tmp_path / "out" / "model_float32.tflite", x)[0]
    _assert_same(compact(x), got)
    _assert_same(model(x), got)


def test_off_by_default_changes_nothing():
    model = _build("lenet300")
    default, off = ns.shrink(model), ns.shrink(model, prune_inputs=False)
    assert not _selects(default) and not _selects(off)
    assert default.count_params() == off.count_params() == ns.make_plan(model).params_after
    assert ns.make_plan(model).prune_inputs is False
    assert [layer.get_config()["name"] for layer in default.layers] == \
        [layer.get_config()["name"] for layer in off.layers]


def test_units_and_inputs_go_together():
    model = _build("lenet300")
    _zero_rows(model.get_layer("fc2"), np.r_[0:24] != 3)  # fc2 reads only unit 3 of fc1
    compact = ns.shrink(model, prune_inputs=True)
    x = _inputs(model)
    _assert_same(model(x), compact(x))
    assert compact.get_layer("fc1").units == 1
    assert compact.count_params() == ns.make_plan(model, prune_inputs=True).params_after


def test_nothing_to_drop_inserts_nothing():
    keras.utils.set_random_seed(3)
    model, _ = _lenet300()
    compact = ns.shrink(model, prune_inputs=True)
    assert not _selects(compact)
    assert compact.count_params() == model.count_params()
    notes = ns.make_plan(model, prune_inputs=True).layers["flatten"].notes
    assert "input features 64 -> 64 (nothing to select, no layer inserted)" in notes


def test_all_inputs_unused_keeps_one():
    model = _build("flat_mlp")
    _zero_rows(model.get_layer("fc1"), slice(None))
    compact = ns.shrink(model, prune_inputs=True)
    assert _selects(compact)[0].indices == [0]
    x = _inputs(model)
    _assert_same(model(x), compact(x))


def test_shrinking_again_keeps_the_selection():
    compact = ns.shrink(_build("lenet300"), prune_inputs=True)
    again = ns.shrink(compact, prune_inputs=True)
    x = _inputs(compact)
    _assert_same(compact(x), again(x))
    assert again.count_params() == compact.count_params()


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_bad_prune_inputs(value):
    model = _build("flat_mlp")
    expected = (f"shrink: expected `prune_inputs` to be a bool. Received: prune_inputs={value!r} "
                f"of type {type(value).__name__}. How to fix: pass prune_inputs=True or "
                "prune_inputs=False.")
    for call in (lambda: ns.shrink(model, prune_inputs=value),
                 lambda: ns.make_plan(model, prune_inputs=value),
                 lambda: ns.report(model, prune_inputs=value)):
        with pytest.raises(TypeError) as info:
            call()
        assert str(info.value) == expected


def test_select_features_layer_config_round_trip():
    layer = SelectFeatures([4, 0, 2], name="pick")
    clone = SelectFeatures.from_config(layer.get_config())
    x = np.arange(10, dtype="float32").reshape(2, 5)
    np.testing.assert_array_equal(np.asarray(clone(x)), x[:, [4, 0, 2]])
    assert keras.saving.get_registered_name(SelectFeatures) == "tf_neuronselect>SelectFeatures"


@pytest.mark.parametrize("indices", [[], [1, 1], [-1], [0.5], "ab"])
def test_select_features_bad_indices(indices):
    with pytest.raises(ValueError) as info:
        SelectFeatures(indices)
    assert str(info.value) == (
        "SelectFeatures: expected `indices` to be a non-empty sequence of distinct non-negative "
        f"ints. Received: indices={indices!r}. How to fix: pass e.g. indices=[0, 3, 7].")


def test_select_features_index_out_of_range():
    with pytest.raises(ValueError, match="expected every index to be < 5"):
        SelectFeatures([0, 5])(keras.Input((5,)))


def test_select_features_bad_axis():
    with pytest.raises(ValueError, match="expected `axis` to be a non-zero int"):
        SelectFeatures([0], axis=0)
