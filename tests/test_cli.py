"""The neuronselect command line, run as a user runs it: in a subprocess."""

import json
import os
import pathlib
import subprocess
import sys

import keras
import numpy as np
import pytest

import tf_neuronselect as ns

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
# Every test starts the command line in a subprocess (5 to 40 s each).
pytestmark = pytest.mark.slow


def run(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", "neuronselect", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=ENV)


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    """A small trained-looking model with dead units, saved as .keras."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((12,))
    x = keras.layers.Dense(16, activation="relu", kernel_regularizer=ns.GroupLasso(0.01),
                           name="hidden")(inputs)
    x = ns.Gate(l1=0.01, name="gate")(x)
    model = keras.Model(inputs, keras.layers.Dense(3, name="head")(x))
    kernel = model.get_layer("hidden").kernel.numpy()
    kernel[:, :6] = 0.0
    model.get_layer("hidden").kernel.assign(kernel)
    path = tmp_path_factory.mktemp("models") / "model.keras"
    model.save(path)
    return path


@pytest.mark.parametrize("command", ["", "demo", "report", "shrink", "export", "bench", "compress"])
def test_help(command):
    result = run(*([command] if command else []), "--help")
    assert result.returncode == 0
    assert "usage: neuronselect" in result.stdout


def test_unknown_method_lists_valid_names():
    result = run("demo", "--method", "magic")
    assert result.returncode == 2
    assert ("invalid choice: 'magic' (choose from 'group-lasso', 'sparse-group-lasso', 'li-lo', "
            "'gate', 'tri-state', 'dense')") in result.stderr


def test_missing_file_is_a_one_line_failure(tmp_path):
    result = run("report", tmp_path / "nope.keras")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"neuronselect: error: expected a .keras model file, but '{tmp_path / 'nope.keras'}' "
        "does not exist")
    assert "Traceback" not in result.stderr


def test_non_keras_file_is_refused(tmp_path):
    bogus = tmp_path / "notes.keras"
    bogus.write_text("hello")
    result = run("report", bogus)
    assert result.returncode == 1
    assert "is not one. Save models with model.save('name.keras')" in result.stderr
    debug = run("--debug", "report", bogus)
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_report_json(saved_model):
    result = run("report", saved_model, "--json")
    assert result.returncode == 0, result.stderr
    layers = {row["name"]: row for row in json.loads(result.stdout)["layers"]}
    assert layers["hidden"]["units"] == 16 and layers["hidden"]["kept"] == 10


def test_shrink_then_export_then_bench(saved_model, tmp_path):
    compact = tmp_path / "compact.keras"
    result = run("shrink", saved_model, "-o", compact)
    assert result.returncode == 0, result.stderr
    original = keras.models.load_model(saved_model)
    shrunk = keras.models.load_model(compact)
    x = np.random.default_rng(0).normal(size=(8, 12)).astype("float32")
    np.testing.assert_allclose(shrunk.predict(x, verbose=0), original.predict(x, verbose=0),
                               atol=1e-5)
    assert run("shrink", saved_model, "-o", compact).returncode == 1  # refuses to overwrite
    out = tmp_path / "export"
    result = run("export", compact, "-o", out, "--quantize", "float16")
    assert result.returncode == 0, result.stderr
    assert (out / "manifest.json").is_file() and (out / "model_float16.tflite").is_file()
    result = run("bench", out / "model_float32.tflite", out / "model_float16.tflite",
                 "--batch-sizes", "1", "--rounds", "2")
    assert result.returncode == 0, result.stderr
    assert "litert" in result.stdout


def test_shrink_prune_inputs(tmp_path):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((12,))
    x = keras.layers.Dense(8, activation="relu", name="hidden")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(3, name="head")(x))
    kernel = model.get_layer("hidden").kernel.numpy()
    kernel[:5] = 0.0
    model.get_layer("hidden").kernel.assign(kernel)
    model.save(tmp_path / "model.keras")
    report = run("report", tmp_path / "model.keras", "--json", "--prune-inputs")
    assert report.returncode == 0, report.stderr
    layers = {row["name"]: row for row in json.loads(report.stdout)["layers"]}
    assert (layers["input_layer"]["kept"], layers["input_layer"]["units"]) == (7, 12)
    result = run("shrink", tmp_path / "model.keras", "-o", tmp_path / "c.keras", "--prune-inputs")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("131 -> 91 parameters")
    shrunk = keras.models.load_model(tmp_path / "c.keras")
    assert isinstance(shrunk.layers[1], ns.SelectFeatures) and shrunk.layers[1].indices == \
        list(range(5, 12))
    x = np.random.default_rng(0).normal(size=(8, 12)).astype("float32")
    np.testing.assert_allclose(shrunk.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-5)


def test_demo_on_digits_end_to_end(tmp_path):
    out = tmp_path / "demo"
    result = run("demo", "--dataset", "digits", "--epochs", "3", "--out", out)
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("units_over_time.png", "widths_before_after.png", "demo.json",
                 "compact/manifest.json", "compact/model_float32.tflite", "compact/model_int8.tflite",
                 "original/model_float32.tflite"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "demo.json").read_text())
    assert summary["max_abs_output_diff"] <= 1e-4
    assert "parameters" in result.stdout and "TFLite bytes" in result.stdout
    assert "accuracy* tflite_int8" in result.stdout
    again = run("demo", "--dataset", "digits", "--epochs", "1", "--out", out)
    assert again.returncode == 1 and "pass --overwrite" in again.stderr


def test_help_imports_neither_keras_nor_tensorflow():
    code = ("import sys, neuronselect\n"
            "try:\n    neuronselect.main(['demo', '--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'keras', 'tensorflow', 'tf_neuronselect', 'numpy'}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=ENV, timeout=60)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stderr


def test_the_launcher_choices_are_the_library_lists():
    import neuronselect
    from tf_neuronselect import datasets
    from tf_neuronselect.examples import recipes
    from tf_neuronselect.exporting import tflite

    assert neuronselect.METHODS == recipes.METHODS
    assert neuronselect.ARCHITECTURES == recipes.ARCHITECTURES
    assert neuronselect.QUANTIZE_CHOICES == tflite.QUANTIZATIONS
    assert set(neuronselect.DATASETS) <= set(datasets.NAMES)


@pytest.mark.slow
def test_compress_writes_the_compact_export_and_its_record(tmp_path):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 10)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    inputs = keras.Input((10,))
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Dense(40, activation="relu")(
        inputs)))
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(x, y, epochs=2, verbose=0)
    model.save(tmp_path / "trained.keras")
    np.savez(tmp_path / "data.npz", x=x, y=y, x_val=x[:64], y_val=y[:64])
    result = run("compress", tmp_path / "trained.keras", "--data", tmp_path / "data.npz",
                 "--params", "0.3", "--epochs", "2", "--method", "prune", "--out",
                 tmp_path / "out")
    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "out" / "compression.json").read_text())
    assert record["method"] == "prune" and record["phases"]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    kept = manifest["model"]["parameters"] / model.count_params()
    assert kept == pytest.approx(0.3, abs=0.03)
    assert "val_accuracy" in record["phases"][-1]
    assert result.stdout.strip().splitlines()[-1].startswith("wrote ")


def test_compress_refuses_data_without_x_and_y(tmp_path):
    np.savez(tmp_path / "data.npz", images=np.zeros((2, 3)))
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    model.compile("adam", "mse")
    model.save(tmp_path / "m.keras")
    result = run("compress", tmp_path / "m.keras", "--data", tmp_path / "data.npz",
                 "--params", "0.5", "--out", tmp_path / "out")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"neuronselect: error: expected '{tmp_path / 'data.npz'}' to hold arrays x and y (or "
        "x_train and y_train); it holds ['images']")
