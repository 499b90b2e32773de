"""Bad input and faults: every case gets an error that says what was expected, what was
received and how to fix it (exact or exact-prefix text), or a CLI exit code 1 with one line.

This file is the index of the bad-input tests added for the hardening issue. Cases that
already had a test elsewhere are listed here and not repeated:

- negative / NaN / inf strengths, alpha > 1 and < 0, unknown `groups`, include_bias with
  outgoing groups, non-numeric strength: tests/test_penalties.py
  (test_bad_hyperparameters_raise_value_error_naming_the_argument,
  test_non_numeric_strength_is_a_type_error)
- add_penalty on a ConvLSTM1D: test_penalties.py::test_add_penalty_refuses_a_layer_it_cannot_group
- ProximalSGD + keras L1 warns once: test_optimizers.py::test_unknown_regularizer_falls_back_...
- subclassed / nested models, shared layers, unknown custom layers, NaN weights, bad tol and
  round_to: tests/test_surgery.py
- export to an existing directory / file / unwritable parent, wrong representative shape,
  bad formats/quantize/evaluation_data, export failing mid-way: tests/test_export.py
- missing file and non-zip file to the CLI: tests/test_cli.py
- BackupAndRestore with ProximalSGD + Gate + GroupLasso: test_optimizers.py
"""

import json
import os
import pathlib
import warnings
import zipfile

import keras
import numpy as np
import pytest

import tf_neuronselect as ns
from neuronselect import main as cli_main
from tests.helpers.resume import assert_backup_resumes_exactly
from tf_neuronselect.exporting import atomic

L = keras.layers


def _mlp(name="mlp"):
    x = keras.Input((4,), name="features")
    h = L.Dense(5, activation="relu", name="fc1")(x)
    h = L.Dense(3, activation="relu", name="fc2")(h)
    return keras.Model(x, L.Dense(2, name="head")(h), name=name)


def _raises(error_type, call):
    with pytest.raises(error_type) as info:
        call()
    return str(info.value)


# --------------------------------------------------------------------------------------------
# Penalty and layer hyperparameters (cases not covered in test_penalties.py)


@pytest.mark.parametrize("make, error_type, message", [
    (lambda: ns.DropNeuron(l2=-1), ValueError,
     "DropNeuron: expected `l2` to be a finite float >= 0. Received: l2=-1.0. Pass a value such "
     "as l2=1e-3 (0 disables this term)."),
    (lambda: ns.Binarizing(float("nan")), ValueError,
     "Binarizing: expected `strength` to be a finite float >= 0. Received: strength=nan."),
    (lambda: ns.SparseGroupLasso(0.1, alpha=float("nan")), ValueError,
     "SparseGroupLasso: expected `alpha` to be a finite float >= 0. Received: alpha=nan."),
    (lambda: ns.SparseGroupLasso(0.1, alpha=True), TypeError,
     "SparseGroupLasso: expected `alpha` to be a non-negative float. Received: alpha=True of "
     "type bool. Pass a Python number such as alpha=1e-3."),
    (lambda: ns.TriStateReLU(complexity=-2), ValueError,
     "TriStateReLU: expected `complexity` to be a finite float >= 0. Received: complexity=-2.0."),
    (lambda: ns.GroupLasso(0.1, include_bias="yes"), TypeError,
     "GroupLasso: expected `include_bias` to be True, False or None. Received: "
     "include_bias='yes'. Pass a bool, or None for the default (True for incoming groups)."),
    (lambda: ns.GroupLasso(0.1, layout="nchw"), ValueError,
     "GroupLasso: expected `layout` to be one of 'standard', 'transposed', 'depthwise', "
     "'heads', 'head_rows', 'heads_first', 'lstm', 'gru'. Received: layout='nchw'. Pass one "
     "of the listed values."),
])
def test_bad_penalty_arguments(make, error_type, message):
    assert _raises(error_type, make).startswith(message)


@pytest.mark.parametrize("layer", [ns.Gate, ns.TriStateReLU], ids=lambda c: c.__name__)
def test_gate_layers_need_a_known_channel_axis(layer):
    message = _raises(ValueError, lambda: layer(name="g")(keras.Input((None,))))
    assert message == (
        f"{layer.__name__} 'g': expected the last (channel) axis of the input to be known. "
        "Received: input_shape=(None, None). Give the input a fixed number of channels, e.g. "
        "keras.Input((None, 16)).")


# --------------------------------------------------------------------------------------------
# add_penalty


def test_add_penalty_refuses_a_non_model():
    assert _raises(TypeError, lambda: ns.add_penalty("model.keras", ns.GroupLasso(0.1))) == (
        "add_penalty: expected a keras.Model. Received: model='model.keras' of type str. Pass "
        "the built model whose layers should be penalized.")


def test_add_penalty_refuses_a_penalty_class_instead_of_an_instance():
    assert _raises(TypeError, lambda: ns.add_penalty(_mlp(), ns.GroupLasso)).startswith(
        "add_penalty: expected `penalty` to be a keras.regularizers.Regularizer such as "
        "tf_neuronselect.GroupLasso(1e-3). Received: penalty=<class ")


def test_add_penalty_refuses_a_single_name_string():
    assert _raises(TypeError, lambda: ns.add_penalty(_mlp(), ns.GroupLasso(0.1), "fc1")) == (
        "add_penalty: expected `layers` to be a list of layer names or layers. Received the "
        "string 'fc1'; pass ['fc1'] instead.")


def test_add_penalty_refuses_an_unknown_layer_name():
    message = _raises(ValueError, lambda: ns.add_penalty(_mlp(), ns.GroupLasso(0.1), ["fc9"]))
    assert message == (
        "add_penalty: expected `layers` to name layers of model 'mlp'. Received: the name "
        "'fc9', which is not one of its layers. Pass names from: 'features', 'fc1', 'fc2', "
        "'head'.")


def test_add_penalty_refuses_a_layer_of_another_model():
    stranger = L.Dense(3, name="stranger")
    message = _raises(ValueError, lambda: ns.add_penalty(_mlp(), ns.GroupLasso(0.1), [stranger]))
    assert message.startswith(
        "add_penalty: expected `layers` to name layers of model 'mlp'. Received: Dense "
        "'stranger', which is not one of its layers.")


def test_add_penalty_refuses_unbuilt_layers():
    model = keras.Sequential([L.Dense(3, name="fc")])
    assert _raises(ValueError, lambda: ns.add_penalty(model, ns.GroupLasso(0.1))) == (
        "add_penalty: expected built layers (their kernels must exist). Received: layer 'fc' is "
        "not built. Build the model first: start it with keras.Input(shape=...) or call "
        "model.build(input_shape).")


def _grouped_conv_model():
    x = keras.Input((6, 6, 4))
    h = L.Conv2D(4, 1, activation="relu", name="a")(x)
    h = L.Conv2D(4, 3, groups=2, name="grouped")(h)
    return keras.Model(x, L.Dense(2, name="head")(L.Flatten()(h)))


def test_add_penalty_names_a_grouped_convolution_it_cannot_group():
    message = _raises(ValueError, lambda: ns.add_penalty(_grouped_conv_model(),
                                                         ns.GroupLasso(0.1), ["grouped"]))
    assert message == (
        "Layer 'grouped' (Conv2D) uses grouped convolution (groups=2); tf_neuronselect supports "
        "groups=1 only. Use DepthwiseConv or SeparableConv layers, or leave this layer "
        "unregularized.")


def test_regression_grouped_convolution_is_skipped_and_copied_not_refused():
    # Bug: one grouped Conv2D anywhere made add_penalty(layers=None), report and shrink raise,
    # although the message says "leave this layer unregularized".
    model = _grouped_conv_model()
    assert ns.add_penalty(model, ns.GroupLasso(0.1)) == ["a", "head"]
    kernel, bias = model.get_layer("a").get_weights()
    kernel[..., 1] = 0.0
    model.get_layer("a").set_weights([kernel, bias])
    plan = ns.make_plan(model)
    assert plan.layers["a"].keep_out.tolist() == [0, 1, 2, 3]  # read by the grouped conv
    shrunk = ns.shrink(model)
    x = np.random.default_rng(0).normal(size=(2, 6, 6, 4)).astype("float32")
    np.testing.assert_allclose(shrunk(x), model(x), atol=1e-6)
    assert shrunk.get_layer("grouped").groups == 2


# --------------------------------------------------------------------------------------------
# Proximal optimizers with a regularizer they do not know


def test_unknown_regularizer_gets_the_plain_update_and_one_warning_over_several_fits():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = rng.normal(size=(32, 2)).astype("float32")

    def build(optimizer):
        keras.utils.set_random_seed(5)
        inputs = keras.Input((4,))
        hidden = L.Dense(6, kernel_regularizer=keras.regularizers.L1(0.05), name="fc")(inputs)
        model = keras.Model(inputs, L.Dense(2, name="head")(hidden))
        model.compile(optimizer, "mse")
        return model

    proximal, plain = build(ns.ProximalSGD(0.1)), build(keras.optimizers.SGD(0.1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            proximal.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    plain.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    messages = [str(w.message) for w in caught if "no proximal step" in str(w.message)]
    assert messages == [
        "ProximalSGD: no proximal step is known for the regularizers of fc/kernel (L1); they are "
        "applied as ordinary loss terms (subgradient), which rarely gives exact zeros. Use a "
        "tf_neuronselect penalty (GroupLasso, SparseGroupLasso, DropNeuron, L1) for exact zeros."]
    for a, b in zip(proximal.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


# --------------------------------------------------------------------------------------------
# Models the rewriter cannot take as they are


def test_report_refuses_a_subclassed_model():
    class Net(keras.Model):
        def call(self, x):
            return x

    message = _raises(TypeError, lambda: ns.report(Net(name="net")))
    assert message.startswith("Expected a Functional or Sequential keras.Model. Received: Net "
                              "'net', a subclassed model whose graph cannot be read.")


def test_shrink_refuses_an_unbuilt_sequential():
    message = _raises(ValueError, lambda: ns.shrink(keras.Sequential([L.Dense(3)], name="s")))
    assert message == (
        "Expected a built Sequential model. Received: Sequential 's' with no known input shape. "
        "How to fix: start it with keras.Input(shape=...) or call model.build(input_shape) "
        "first.")


class MyDense(L.Dense):
    """A subclass of a known layer: its weights may mean something else, so it is unknown."""


def test_subclass_of_a_known_layer_reading_dead_units_is_refused():
    x = keras.Input((4,))
    h = L.Dense(5, activation="relu", name="fc1")(x)
    model = keras.Model(x, MyDense(2, name="mine")(h))
    kernel, bias = model.get_layer("fc1").get_weights()
    kernel[:, 0] = 0.0
    model.get_layer("fc1").set_weights([kernel, bias])
    assert _raises(ValueError, lambda: ns.shrink(model)) == (
        "Expected every layer that reads a removable channel to have a slicer. Received: layer "
        "'mine' of type MyDense reads channels [0] of 'fc1', which are dead, and tf_neuronselect "
        "does not know how MyDense maps channels. How to fix: register a slicer with "
        "tf_neuronselect.register_slicer(MyDense, slicer) (for an element-wise layer, "
        "tf_neuronselect.surgery.Elementwise()), or revive those units.")


def test_shared_layer_with_conflicting_masks_is_refused():
    # The two calls of 'shared' read different tensors, and only the first has dead units:
    # one sliced layer cannot serve both, so the rewriter refuses instead of guessing.
    a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
    shared = L.Dense(4, activation="relu", name="shared")
    first = L.Dense(3, name="first")(shared(a))
    second = L.Dense(3, name="second")(shared(b))
    model = keras.Model([a, b], L.Add()([first, second]))
    kernel, bias = model.get_layer("first").get_weights()
    kernel[0] = 0.0  # unit 0 of the first call is unused, but used by the second call
    model.get_layer("first").set_weights([kernel, bias])
    assert _raises(ValueError, lambda: ns.shrink(model)) == (
        "Expected every layer to be called once. Received: layer 'shared' (Dense) is shared (2 "
        "calls), so slicing it for one call would change the others. How to fix: use a separate "
        "layer per call.")


def test_model_whose_every_unit_is_dead_keeps_one_unit_per_layer_exactly():
    # Not an error: the model computes a constant, and shrinking keeps that constant exactly
    # with the strongest (here: the first) unit of each hidden layer and a note saying why.
    model = _mlp()
    for layer in model.layers[1:]:
        kernel, bias = layer.get_weights()
        layer.set_weights([np.zeros_like(kernel), np.linspace(-1, 1, len(bias))])
    plan = ns.make_plan(model)
    for name in ("fc1", "fc2"):
        assert plan.layers[name].keep_out.tolist() == [0]
        assert plan.layers[name].notes[0] == (
            "kept (strongest) so the layer is not empty: units [0]")
    shrunk = ns.shrink(model)
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    np.testing.assert_allclose(shrunk(x), model(x), atol=1e-6)
    assert [l.units for l in shrunk.layers[1:]] == [1, 1, 2]


@pytest.mark.parametrize("where", ["batchnorm", "gate"])
def test_non_finite_weights_are_refused_by_report_and_shrink(where):
    x = keras.Input((4,))
    h = L.Dense(3, name="fc")(x)
    h = L.BatchNormalization(name="bn")(h) if where == "batchnorm" else ns.Gate(name="gate")(h)
    model = keras.Model(x, L.Dense(2)(h))
    if where == "batchnorm":
        model.get_layer("bn").moving_variance.assign([1.0, np.inf, 1.0])
        received, weight = "layer 'bn' (BatchNormalization)", "moving_variance"
    else:
        model.get_layer("gate").theta.assign([1.0, np.nan, 1.0])
        received, weight = "layer 'gate' (Gate)", "theta"
    expected = (
        f"Expected finite weights in every layer. Received: {received} has NaN or inf values in "
        f"weight '{weight}'. How to fix: restore the weights from a checkpoint taken before "
        "training diverged (lower the learning rate or the penalty), then shrink again.")
    assert _raises(ValueError, lambda: ns.report(model)) == expected
    assert _raises(ValueError, lambda: ns.shrink(model)) == expected


def test_shrink_refuses_nan_tol():
    assert _raises(ValueError, lambda: ns.shrink(_mlp(), tol=float("nan"))) == (
        "shrink: expected `tol` to be a finite float >= 0. Received: tol=nan. Pass a value such "
        "as tol=1e-3 (0 disables this term).")


def test_report_refuses_sample_inputs_of_the_wrong_shape():
    message = _raises(ValueError, lambda: ns.report(_mlp(), sample_inputs=np.zeros((2, 5))))
    assert message == (
        "report: expected `sample_inputs` shaped like the model inputs (None, 4). Received: "
        "(2, 5). Pass a batch of real inputs (batch axis first, one array per model input), "
        "e.g. sample_inputs=x_test[:32].")


# --------------------------------------------------------------------------------------------
# Export: wrong representative data, interrupted writes


def test_representative_data_with_too_many_arrays(tmp_path):
    data = [np.zeros((8, 4), "float32"), np.zeros((8, 4), "float32")]
    message = _raises(ValueError, lambda: ns.export(_mlp(), tmp_path / "out", formats="tflite",
                                                    quantize="int8", representative_data=data))
    assert message == (
        "export: expected `representative_data` batches with 1 input arrays (one per model "
        "input). Received: 2. Yield a list with one array per input, in the order of "
        "model.inputs.")
    assert not (tmp_path / "out").exists()


def test_regression_empty_representative_list_is_a_clear_error(tmp_path):
    # Bug: representative_data=[] raised IndexError from inside the splitter.
    message = _raises(ValueError, lambda: ns.export(_mlp(), tmp_path / "out", formats="tflite",
                                                    quantize="int8", representative_data=[]))
    assert message == (
        "export: expected `representative_data` to yield at least one batch. Received: an empty "
        "source. Pass a few hundred training inputs.")


def _snapshot(directory):
    return {p.relative_to(directory): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def test_keyboard_interrupt_mid_export_leaves_nothing_behind(tmp_path, monkeypatch):
    # test_export.py covers an Exception mid-way; Ctrl-C is a BaseException and must clean too.
    from tf_neuronselect.exporting import saved_model

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(saved_model, "write_saved_model", interrupt)
    with pytest.raises(KeyboardInterrupt):
        ns.export(_mlp(), tmp_path / "out", formats=("keras", "saved_model"))
    assert list(tmp_path.iterdir()) == []


def test_failure_while_swapping_directories_restores_previous_artifacts(tmp_path, monkeypatch):
    # The one non-atomic moment: the old directory is set aside, then the new one is renamed in.
    target = tmp_path / "out"
    ns.export(_mlp(), target, formats=("keras",))
    before = _snapshot(target)
    real_rename = os.rename

    def failing_rename(source, destination):
        if pathlib.Path(destination) == target and ".tmp-" in str(source):
            raise OSError(28, "No space left on device")
        return real_rename(source, destination)

    monkeypatch.setattr(atomic.os, "rename", failing_rename)
    with pytest.raises(OSError, match="No space left on device"):
        ns.export(_mlp("other"), target, formats=("keras",), overwrite=True)
    assert _snapshot(target) == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


# --------------------------------------------------------------------------------------------
# CLI: corrupt, non-Keras and incompatible .keras files (run in-process: exit code + one line)


@pytest.fixture(scope="module")
def keras_file(tmp_path_factory):
    keras.utils.set_random_seed(0)
    x = keras.Input((4,))
    h = ns.Gate(name="gate")(L.Dense(3, name="fc")(x))
    model = keras.Model(x, L.Dense(2, name="head")(h))
    path = tmp_path_factory.mktemp("cli") / "model.keras"
    model.save(path)
    return path


def _rewrite(source, target, config=None, metadata=None, drop=()):
    """Copies the .keras zip ``source`` to ``target``, editing config.json / metadata.json."""
    with zipfile.ZipFile(source) as archive, zipfile.ZipFile(target, "w") as out:
        for name in archive.namelist():
            data = archive.read(name)
            if name in drop:
                continue
            if name == "config.json" and config is not None:
                data = json.dumps(config(json.loads(data))).encode()
            if name == "metadata.json" and metadata is not None:
                data = json.dumps(metadata(json.loads(data))).encode()
            out.writestr(name, data)
    return target


def _layer(config, name):
    return next(l for l in config["config"]["layers"] if l["name"] == name)


def _run_cli(capsys, *args):
    code = cli_main([str(a) for a in args])
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return code, err[0]


def _unknown_class(config):
    _layer(config, "fc")["class_name"] = "FancyDense"
    return config


def _unknown_custom_class(config):
    _layer(config, "gate")["registered_name"] = "tf_neuronselect>GateV2"
    _layer(config, "gate")["class_name"] = "GateV2"
    return config


def _unknown_argument(config):
    _layer(config, "fc")["config"]["sparsity_target"] = 0.5
    return config


def _future_version(metadata):
    return {**metadata, "keras_version": "9.1.0"}


def test_cli_truncated_keras_file(tmp_path, capsys, keras_file):
    path = tmp_path / "cut.keras"
    path.write_bytes(keras_file.read_bytes()[:200])
    assert _run_cli(capsys, "report", path) == (1, (
        f"neuronselect: error: expected a .keras model file (a zip with config.json); "
        f"'{path}' is not one. Save models with model.save('name.keras')"))


def test_cli_zip_without_config(tmp_path, capsys, keras_file):
    path = _rewrite(keras_file, tmp_path / "noconfig.keras", drop=("config.json",))
    code, line = _run_cli(capsys, "shrink", path, "-o", tmp_path / "small.keras")
    assert (code, line) == (1, (
        f"neuronselect: error: expected a .keras model file (a zip with config.json); "
        f"'{path}' is not one. Save models with model.save('name.keras')"))


def test_cli_directory_instead_of_file(tmp_path, capsys):
    assert _run_cli(capsys, "report", tmp_path) == (1, (
        f"neuronselect: error: expected a .keras model file, but '{tmp_path}' is a directory. "
        "Pass the model file itself (save it with model.save('name.keras'))"))


def _replace_member(source, target, member, data):
    with zipfile.ZipFile(source) as archive, zipfile.ZipFile(target, "w") as out:
        for name in archive.namelist():
            out.writestr(name, data if name == member else archive.read(name))
    return target


DAMAGED_FIX = ("How to fix: the file is damaged or incomplete: copy it again, or save the model "
               "again with model.save('name.keras')")


def test_cli_config_that_is_not_json(tmp_path, capsys, keras_file):
    path = _replace_member(keras_file, tmp_path / "garbled.keras", "config.json", b"{not json")
    assert _run_cli(capsys, "report", path) == (1, (
        f"neuronselect: error: could not load '{path}': expected a .keras file whose "
        "config.json is valid JSON; received an unreadable config.json (Expecting property name "
        "enclosed in double quotes: line 1 column 2 (char 1)). " + DAMAGED_FIX))


def test_cli_weights_that_cannot_be_read(tmp_path, capsys, keras_file):
    path = _replace_member(keras_file, tmp_path / "noweights.keras", "model.weights.h5",
                           b"garbage")
    code, line = _run_cli(capsys, "report", path)
    assert code == 1
    assert line.startswith(f"neuronselect: error: could not load '{path}': expected a .keras "
                           "file whose weights can be read; received unreadable weights (")
    assert line.endswith(DAMAGED_FIX)


def test_cli_unknown_layer_class(tmp_path, capsys, keras_file):
    path = _rewrite(keras_file, tmp_path / "fancy.keras", config=_unknown_class)
    assert _run_cli(capsys, "report", path) == (1, (
        f"neuronselect: error: could not load '{path}': expected a model config that Keras "
        f"{keras.__version__} can rebuild; received a file saved with Keras {keras.__version__} "
        "in which it uses the class 'keras.layers.FancyDense', which is not registered. How to "
        "fix: import the module that defines that class (registered with "
        "@keras.saving.register_keras_serializable) before loading, or re-save the model without "
        "it"))


def test_cli_unknown_custom_class(tmp_path, capsys, keras_file):
    path = _rewrite(keras_file, tmp_path / "gatev2.keras", config=_unknown_custom_class)
    code, line = _run_cli(capsys, "export", path, "-o", tmp_path / "out")
    assert code == 1
    assert f"in which it uses the class 'GateV2', which is not registered. How to fix: import" \
        in line
    assert not (tmp_path / "out").exists()


def test_cli_newer_keras_with_unknown_argument(tmp_path, capsys, keras_file):
    path = _rewrite(keras_file, tmp_path / "future.keras", config=_unknown_argument,
                    metadata=_future_version)
    assert _run_cli(capsys, "shrink", path, "-o", tmp_path / "small.keras") == (1, (
        f"neuronselect: error: could not load '{path}': expected a model config that Keras "
        f"{keras.__version__} can rebuild; received a file saved with Keras 9.1.0 in which its "
        "Dense config has arguments this version does not accept: {'sparsity_target': 0.5}. How "
        "to fix: upgrade to Keras >= 9.1.0 (pip install -U 'keras>=9.1.0'), or re-save the model "
        f"with Keras {keras.__version__}"))
    assert not (tmp_path / "small.keras").exists()


def test_cli_newer_keras_version_alone_still_loads(tmp_path, capsys, keras_file):
    # A newer version stamp is no error by itself: only configs this Keras cannot rebuild are.
    path = _rewrite(keras_file, tmp_path / "stamped.keras", metadata=_future_version)
    assert cli_main(["report", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["layers"]


def test_cli_refuses_existing_outputs(tmp_path, capsys, keras_file):
    output = tmp_path / "small.keras"
    output.write_text("keep me")
    assert _run_cli(capsys, "shrink", keras_file, "-o", output) == (1, (
        f"neuronselect: error: expected --output to be a new file, but '{output}' exists; pass "
        "--overwrite to replace it"))
    (tmp_path / "out").mkdir()
    code, line = _run_cli(capsys, "export", keras_file, "-o", tmp_path / "out")
    assert (code, line) == (1, (
        f"neuronselect: error: export: expected `directory` to be a path that does not exist "
        f"yet. Received: directory='{tmp_path / 'out'}', which already exists. Pass "
        "overwrite=True to replace it, or choose another directory."))
    assert output.read_text() == "keep me"


# --------------------------------------------------------------------------------------------
# Faults: interrupted and resumed training


@pytest.mark.slow
def test_backup_and_restore_resumes_proximal_adam_with_tri_state_gates(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 10)).astype("float32")
    y = (x[:, 0] - x[:, 1] > 0).astype("int32")

    def fresh(seed=3):
        keras.utils.set_random_seed(seed)
        inputs = keras.Input((10,))
        h = L.Dense(12, kernel_regularizer=ns.SparseGroupLasso(0.05, alpha=0.3))(inputs)
        h = ns.TriStateReLU(binarize=0.01, complexity=1e-3, linearity=1e-3)(h)
        h = L.Dense(8, kernel_regularizer=ns.DropNeuron(li=0.02, lo=0.02))(h)
        h = ns.TriStateReLU(binarize=0.01, complexity=1e-3)(h)
        model = keras.Model(inputs, L.Dense(2)(h))
        model.compile(ns.ProximalAdam(0.02),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        return model

    assert_backup_resumes_exactly(fresh, x, y, tmp_path / "backup", steps_per_epoch=3)
    assert not (tmp_path / "backup").exists()  # removed once training completed
