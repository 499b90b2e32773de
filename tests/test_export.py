"""ns.export: TFLite / SavedModel / .keras outputs equal Keras, the manifest tells the truth, and
writes are atomic (a failed export leaves the previous artifacts untouched)."""

import collections
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import textwrap

import keras
import numpy as np
import pytest

import tf_neuronselect as ns
from tests.helpers.litert_clock import LiteRTClock
from tf_neuronselect import datasets
from tf_neuronselect.exporting import run_saved_model
from tf_neuronselect.exporting import run_tflite
from tf_neuronselect.exporting import tflite as tflite_module

QUANTIZE = ("float16", "dynamic", "int8")


def _mlp():
    inputs = keras.Input((20,))
    x = keras.layers.Dense(16, activation="relu")(inputs)
    x = keras.layers.Dense(8, activation="relu")(x)
    return keras.Model(inputs, keras.layers.Dense(4)(x), name="mlp")


def _lenet_bn():
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(6, 5)(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = keras.layers.Flatten()(x)
    return keras.Model(inputs, keras.layers.Dense(10)(x), name="lenet_bn")


def _residual():
    inputs = keras.Input((12,))
    x = keras.layers.Dense(12, activation="relu")(inputs)
    x = keras.layers.Add()([inputs, keras.layers.Dense(12)(x)])
    return keras.Model(inputs, keras.layers.Dense(3)(x), name="residual")


FACTORIES = {"mlp": _mlp, "lenet_bn": _lenet_bn, "residual": _residual}
# Multiply-adds by hand: mlp 20*16 + 16*8 + 8*4; lenet_bn 24*24*6*25 (conv 5x5) + 12*12*8*9*6
# (conv 3x3 'same' after pooling) + 1152*10; residual 12*12 + 12*12 + 12*3.
MACS = {"mlp": 480, "lenet_bn": 86400 + 62208 + 11520, "residual": 324}


def _build(name):
    keras.utils.set_random_seed(7)
    model = FACTORIES[name]()
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            # Non-trivial moving statistics, so inference-mode BatchNorm really changes outputs.
            layer.moving_mean.assign(np.linspace(-0.5, 0.5, 6).astype("float32"))
            layer.moving_variance.assign(np.linspace(0.5, 2.0, 6).astype("float32"))
    return model


def _inputs(model, n, seed=0):
    shape = (n, *model.inputs[0].shape[1:])
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _tolerance(reference, factor):
    return factor * max(1.0, float(np.max(np.abs(reference))))


@pytest.fixture(scope="module", params=sorted(FACTORIES))
def exported(request, tmp_path_factory):
    """One full export per model (all formats and quantizations), shared by the checks below."""
    model = _build(request.param)
    directory = tmp_path_factory.mktemp(request.param) / "export"
    x = _inputs(model, 16, seed=1)
    manifest = ns.export(
        model, directory, quantize=QUANTIZE, representative_data=_inputs(model, 64, seed=2)
    )
    return {"model": model, "dir": directory, "manifest": manifest, "x": x,
            "expected": np.asarray(model(x, training=False))}


def test_tflite_float32_equals_keras(exported):
    got = run_tflite(exported["dir"] / "model_float32.tflite", exported["x"])[0]
    expected = exported["expected"]
    assert np.max(np.abs(got - expected)) <= _tolerance(expected, 1e-5)


def test_tflite_float16_is_close(exported):
    got = run_tflite(exported["dir"] / "model_float16.tflite", exported["x"])[0]
    expected = exported["expected"]
    assert np.max(np.abs(got - expected)) <= _tolerance(expected, 1e-2)


# Random weights and inputs: the int8 file's error reaches 0.16 of the output range on lenet_bn
# (measured), so this only catches a broken file; test_quantized_tflite_keeps_the_accuracy_...
# holds the quantized files to an accuracy.
@pytest.mark.parametrize("variant, factor", [("dynamic", 2e-2), ("int8", 0.25)])
def test_quantized_tflite_is_near_keras(exported, variant, factor):
    got = run_tflite(exported["dir"] / f"model_{variant}.tflite", exported["x"])[0]
    expected = exported["expected"]
    assert got.shape == expected.shape
    assert np.max(np.abs(got - expected)) <= _tolerance(expected, factor)


def _nearest_centroid_classifier(x_train, y_train):
    """A hand-built digits classifier with a known decision rule: nearest class centroid,
    i.e. argmax_c (x . c - |c|^2 / 2), sent through a ReLU layer as relu(s) and relu(-s) and
    recombined by s = relu(s) - relu(-s), so two quantized layers compute it. Returns the
    model and the scores as a NumPy function of flattened inputs."""
    flat = x_train.reshape(len(x_train), -1)
    centroids = np.stack([flat[y_train == c].mean(axis=0) for c in range(10)])
    bias = -0.5 * np.sum(centroids ** 2, axis=1)
    inputs = keras.Input(x_train.shape[1:])
    x = keras.layers.Flatten()(inputs)
    split = keras.layers.Dense(20, activation="relu")
    join = keras.layers.Dense(10)
    model = keras.Model(inputs, join(split(x)), name="nearest_centroid")
    split.set_weights([np.concatenate([centroids.T, -centroids.T], axis=1),
                       np.concatenate([bias, -bias])])
    join.set_weights([np.concatenate([np.eye(10), -np.eye(10)]), np.zeros(10)])
    return model, lambda rows: rows @ centroids.T + bias


# Of 360 held-out digits, the float classifier gets 325 right (90.3%); the quantized files may
# lose at most 2 points of accuracy (7 digits) and change at most 3% of its answers.
QUANTIZED_ACCURACY_MARGIN = 0.02
QUANTIZED_AGREEMENT = 0.97


@pytest.mark.parametrize("variant", ["dynamic", "int8"])
def test_quantized_tflite_keeps_the_accuracy_of_a_known_classifier(tmp_path, variant):
    data = datasets.load("digits")
    model, scores = _nearest_centroid_classifier(data.x_train, data.y_train)
    reference = np.argmax(scores(data.x_test.reshape(len(data.x_test), -1)), axis=1)
    float_accuracy = np.mean(reference == data.y_test)
    assert float_accuracy == pytest.approx(325 / 360)
    manifest = ns.export(model, tmp_path / "out", formats=("tflite",), quantize=variant,
                         representative_data=data.x_train[:256],
                         evaluation_data=(data.x_test, data.y_test))
    got = np.argmax(run_tflite(tmp_path / "out" / f"model_{variant}.tflite", data.x_test)[0],
                    axis=1)
    accuracy = np.mean(got == data.y_test)
    assert accuracy >= float_accuracy - QUANTIZED_ACCURACY_MARGIN, (accuracy, float_accuracy)
    assert np.mean(got == reference) >= QUANTIZED_AGREEMENT
    assert manifest["accuracy"] == pytest.approx(
        {"keras": float_accuracy, "tflite_float32": float_accuracy,
         f"tflite_{variant}": accuracy})


def test_saved_model_equals_keras(exported):
    got = run_saved_model(exported["dir"] / "saved_model", exported["x"])[0]
    expected = exported["expected"]
    assert np.max(np.abs(got - expected)) <= _tolerance(expected, 1e-5)


def test_keras_file_reloads_with_equal_outputs(exported):
    reloaded = keras.saving.load_model(exported["dir"] / "model.keras")
    got = np.asarray(reloaded(exported["x"], training=False))
    np.testing.assert_array_equal(got, exported["expected"])


def test_manifest_digests_and_sizes_match_files(exported):
    directory, manifest = exported["dir"], exported["manifest"]
    assert json.loads((directory / "manifest.json").read_text()) == manifest
    records = manifest["files"]
    tflite_names = {f"model_{v}.tflite" for v in ("float32",) + QUANTIZE}
    written = {"model.keras", "saved_model"} | tflite_names
    assert set(records) == written
    for name in written - {"saved_model"}:
        path = directory / name
        assert records[name]["bytes"] == len(path.read_bytes())
        assert records[name]["sha256"] == _sha256(path)
    saved = records["saved_model"]
    on_disk = {p.relative_to(directory / "saved_model").as_posix(): p
               for p in (directory / "saved_model").rglob("*") if p.is_file()}
    assert set(saved["files"]) == set(on_disk)
    for relative, path in on_disk.items():
        assert saved["files"][relative] == {"bytes": len(path.read_bytes()),
                                            "sha256": _sha256(path)}
    assert saved["bytes"] == sum(len(path.read_bytes()) for path in on_disk.values())
    # The combined digest as the manifest format documents it: sha256 of the lines
    # "<relative path>  <sha256>\n", sorted by path.
    lines = "".join(f"{relative}  {_sha256(on_disk[relative])}\n" for relative in sorted(on_disk))
    assert saved["sha256"] == hashlib.sha256(lines.encode()).hexdigest()


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_manifest_describes_model(exported):
    model, description = exported["model"], exported["manifest"]["model"]
    assert description["parameters"] == model.count_params()
    assert description["inputs"][0]["shape"] == list(model.inputs[0].shape)
    assert description["outputs"][0]["shape"] == list(model.outputs[0].shape)
    widths = [r["width"] for r in description["layers"] if "width" in r]
    assert widths == [l.units if hasattr(l, "units") else l.filters
                      for l in model.layers if hasattr(l, "units") or hasattr(l, "filters")]
    assert description["macs"] == MACS[model.name]
    assert set(exported["manifest"]["versions"]) >= {"tf_neuronselect", "tensorflow", "keras"}


def test_count_macs_of_the_export_models():
    assert {name: ns.count_macs(_build(name)) for name in FACTORIES} == MACS


def test_count_macs_dense_and_conv():
    dense = keras.Sequential([keras.Input((784,)), keras.layers.Dense(300)])
    assert ns.count_macs(dense) == 784 * 300
    conv = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(20, 5)])
    assert ns.count_macs(conv) == 24 * 24 * 20 * 25


def test_count_macs_other_convolutions():
    inputs = keras.Input((8, 8, 4))
    x = keras.layers.DepthwiseConv2D(3, depth_multiplier=2)(inputs)  # 6*6*9*4*2
    x = keras.layers.SeparableConv2D(5, 3)(x)  # 4*4*9*8 + 4*4*8*5
    x = keras.layers.Conv2DTranspose(2, 3)(x)  # 4*4*9*5*2
    x = keras.layers.Conv2D(4, 1, groups=2)(x)  # 6*6*1*(2//2)*4
    model = keras.Model(inputs, x)
    assert ns.count_macs(model) == 2592 + (1152 + 640) + 1440 + 144


def test_count_macs_nested_and_shared_layers():
    inner = keras.Sequential([keras.Input((8,)), keras.layers.Dense(5)])
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(8)(inputs)
    model = keras.Model(inputs, [inner(hidden), inner(hidden)])
    # The nested model is called twice, so its Dense(8 -> 5) counts twice.
    assert ns.count_macs(model) == 4 * 8 + 2 * 8 * 5


def test_subclassed_model_is_refused(tmp_path):
    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__(name="sub")
            self.dense = keras.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    model = Subclassed()
    model(np.zeros((1, 3), "float32"))
    with pytest.raises(ValueError, match="expected a Functional or Sequential model with known"):
        ns.export(model, tmp_path / "out")


def test_existing_file_target_is_refused(tmp_path):
    (tmp_path / "out").write_text("x")
    with pytest.raises(FileExistsError, match="which is an existing file"):
        ns.export(_build("mlp"), tmp_path / "out", formats=("keras",), overwrite=True)


def test_accuracy_recorded_for_keras_and_each_tflite(tmp_path):
    # A linear model whose answer is known without running it: the index of the largest of the
    # first 4 features (identity weights, exact in float16 too). Labels follow that rule except
    # for 10 of 40 examples, moved to the next class: every file must score exactly 30 / 40.
    inputs = keras.Input((20,))
    model = keras.Model(inputs, keras.layers.Dense(4, use_bias=False)(inputs))
    model.set_weights([np.eye(20, 4, dtype="float32")])
    x = _inputs(model, 40)
    y = np.argmax(x[:, :4], axis=1)
    y[::4] = (y[::4] + 1) % 4
    manifest = ns.export(model, tmp_path / "out", formats=("tflite",), quantize="float16",
                         evaluation_data=(x, y))
    assert manifest["accuracy"] == {"keras": 0.75, "tflite_float32": 0.75, "tflite_float16": 0.75}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "manifest.json", "model_float16.tflite", "model_float32.tflite"]


def test_refuses_to_overwrite(tmp_path):
    model = _build("mlp")
    target = tmp_path / "out"
    ns.export(model, target, formats=("keras",))
    with pytest.raises(FileExistsError) as info:
        ns.export(model, target, formats=("keras",))
    assert str(info.value) == (
        f"export: expected `directory` to be a path that does not exist yet. Received: "
        f"directory='{target}', which already exists. Pass overwrite=True to replace it, or "
        "choose another directory."
    )


def test_overwrite_replaces_and_leaves_no_temporary_directories(tmp_path):
    target = tmp_path / "out"
    ns.export(_build("mlp"), target, formats=("keras", "tflite"))
    ns.export(_build("residual"), target, formats=("keras",), overwrite=True)
    assert json.loads((target / "manifest.json").read_text())["model"]["name"] == "residual"
    assert not (target / "model_float32.tflite").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def _snapshot(directory):
    return {p.relative_to(directory): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def test_interrupted_export_keeps_previous_artifacts(tmp_path, monkeypatch):
    target = tmp_path / "out"
    ns.export(_build("mlp"), target, formats=("keras", "tflite"))
    before = _snapshot(target)

    def fail(*args, **kwargs):
        raise RuntimeError("converter crashed")

    monkeypatch.setattr(tflite_module, "convert_saved_model", fail)
    with pytest.raises(RuntimeError, match="converter crashed"):
        ns.export(_build("residual"), target, overwrite=True)
    assert _snapshot(target) == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_parent_that_is_a_file_gives_clear_error(tmp_path):
    (tmp_path / "afile").write_text("not a directory")
    target = tmp_path / "afile" / "out"
    with pytest.raises(OSError, match="expected `directory` to be inside a writable") as info:
        ns.export(_build("mlp"), target, formats=("keras",))
    assert f"directory='{target}'" in str(info.value)
    assert "Choose a directory you can write to" in str(info.value)


def test_unwritable_parent_gives_permission_error(tmp_path, monkeypatch):
    parent = tmp_path / "locked"
    parent.mkdir()
    parent.chmod(0o500)
    if os.geteuid() == 0:
        # root ignores the mode bits; simulate what a normal user would get.
        def deny(*args, **kwargs):
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(tempfile, "mkdtemp", deny)
    try:
        with pytest.raises(PermissionError) as info:
            ns.export(_build("mlp"), parent / "out", formats=("keras",))
    finally:
        parent.chmod(0o700)
    message = str(info.value)
    assert f"'{parent}' cannot be created or written (Permission denied)" in message
    assert f"fix the permissions of '{parent}'" in message


def test_representative_data_of_wrong_shape(tmp_path):
    model = _build("lenet_bn")
    bad = np.zeros((32, 784), "float32")
    with pytest.raises(ValueError) as info:
        ns.export(model, tmp_path / "out", quantize="int8", representative_data=bad)
    assert str(info.value) == (
        "export: expected `representative_data` batches of shape (None, 28, 28, 1) to match "
        "the model input. Received: (32, 784). Reshape the data to the model's input shape "
        "(the batch axis first)."
    )
    assert not (tmp_path / "out").exists()


def test_representative_generator_is_accepted(tmp_path):
    model = _build("mlp")
    seen = []

    def batches():
        for seed in range(4):
            seen.append(seed)
            yield _inputs(model, 8, seed)

    ns.export(model, tmp_path / "out", formats=("tflite",), quantize="int8",
              representative_data=batches)
    assert seen[:4] == [0, 1, 2, 3]  # the generator was read to its end
    x = _inputs(model, 16, seed=5)
    got = run_tflite(tmp_path / "out" / "model_int8.tflite", x)[0]
    expected = np.asarray(model(x, training=False))
    assert np.max(np.abs(got - expected)) <= _tolerance(expected, 0.05)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"quantize": "int8"}, "expected `representative_data` for quantize='int8'"),
        ({"quantize": "int4"}, "expected `quantize` to be one of 'float16', 'dynamic', 'int8'"),
        ({"formats": ("onnx",)}, "expected `formats` to be one of 'keras', 'saved_model'"),
        ({"formats": ("keras",), "quantize": "float16"}, "expected 'tflite' in `formats`"),
        ({"evaluation_data": np.zeros(3)}, "expected `evaluation_data` to be a pair"),
    ],
)
def test_argument_errors(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        ns.export(_build("mlp"), tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_benchmark_structure(tmp_path, monkeypatch):
    # On the fake clock an invoke of the wide file costs 3 ms per example, of the narrow one
    # 1 ms: each row must be timed at its own batch size and thread count.
    clock = LiteRTClock(lambda call: call.batch * (3e-3 if "wide" in call.path else 1e-3))
    wide = _build("mlp")
    ns.export(wide, tmp_path / "wide", formats=("tflite",))
    inputs = keras.Input((20,))
    narrow = keras.Model(inputs, keras.layers.Dense(4)(keras.layers.Dense(3)(inputs)))
    clock.install(monkeypatch)
    result = ns.benchmark(tmp_path / "wide" / "model_float32.tflite", narrow,
                          batch_sizes=(1, 4), threads=(1, 2), rounds=2, iterations=3, warmup=1)
    assert isinstance(result, ns.BenchmarkResult)
    assert [(r["batch_size"], r["threads"]) for r in result] == [(1, 1), (4, 1), (1, 2), (4, 2)]
    for row in result:
        assert row["runtime"] == "litert"
        assert row["original_ms"] == pytest.approx(3.0 * row["batch_size"])
        assert row["compact_ms"] == pytest.approx(1.0 * row["batch_size"])
        assert row["ratio"] == pytest.approx(1 / 3)
    # Per row and model: 1 warm-up call and 2 rounds of 3 timed calls.
    calls = collections.Counter(("wide" in c.path, c.batch, c.threads) for c in clock.invokes)
    assert calls == {(wide, batch, threads): 7 for wide in (True, False) for batch in (1, 4)
                     for threads in (1, 2)}
    assert result.sizes["compact"] < result.sizes["original"]
    assert "ratio" in str(result).splitlines()[0]


def test_benchmark_saved_models_on_tf_runtime(tmp_path):
    ns.export(_build("mlp"), tmp_path / "wide", formats=("saved_model",))
    inputs = keras.Input((20,))
    ns.export(keras.Model(inputs, keras.layers.Dense(4)(inputs)), tmp_path / "narrow",
              formats=("saved_model",))
    result = ns.benchmark(tmp_path / "wide" / "saved_model", tmp_path / "narrow" / "saved_model",
                          batch_sizes=(2,), rounds=1, iterations=2, warmup=1)
    assert [(r["runtime"], r["device"], r["threads"]) for r in result][0] == ("tf", "cpu", None)
    assert all(r["original_ms"] > 0 and r["compact_ms"] > 0 for r in result)


_CLEAN_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    directory, x = sys.argv[1], np.load(sys.argv[2])
    serve = tf.saved_model.load(directory + "/saved_model").signatures["serving_default"]
    (name,) = serve.structured_input_signature[1]
    saved = serve(**{name: tf.constant(x)})["output_0"].numpy()
    runner = Interpreter(model_path=directory + "/model_float32.tflite").get_signature_runner()
    lite = runner(**{name: x})["output_0"]
    np.save(sys.argv[3], np.stack([saved, lite]))
    assert not [m for m in sys.modules if m.startswith("tf_neuronselect")], "imported!"
    """
)


@pytest.mark.slow
def test_artifacts_run_without_tf_neuronselect(tmp_path):
    model = _build("lenet_bn")
    ns.export(model, tmp_path / "out", formats=("saved_model", "tflite"))
    x = _inputs(model, 5)
    np.save(tmp_path / "x.npy", x)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    subprocess.run(
        [sys.executable, "-c", _CLEAN_SCRIPT, str(tmp_path / "out"), str(tmp_path / "x.npy"),
         str(tmp_path / "y.npy")],
        check=True, cwd=tmp_path, env=env, capture_output=True, timeout=300,
    )
    saved, lite = np.load(tmp_path / "y.npy")
    expected = np.asarray(model(x, training=False))
    assert np.max(np.abs(saved - expected)) <= _tolerance(expected, 1e-5)
    assert np.max(np.abs(lite - expected)) <= _tolerance(expected, 1e-5)
