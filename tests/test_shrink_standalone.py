"""A shrunk model is plain Keras: it loads in a process that never imports tf_neuronselect."""

import subprocess
import sys
import zipfile

import keras
import numpy as np
import pytest

import tf_neuronselect as ns

LOADER = """
import sys, numpy as np, keras
model = keras.models.load_model(sys.argv[1])
np.save(sys.argv[3], model.predict(np.load(sys.argv[2]), verbose=0))
assert "tf_neuronselect" not in sys.modules
"""


def _trained_looking_model(rng):
    inputs = keras.Input((10,))
    x = keras.layers.Dense(12, activation="relu", kernel_regularizer=ns.GroupLasso(0.1))(inputs)
    x = ns.Gate(l1=0.01)(x)
    x = keras.layers.Dense(8, kernel_regularizer=ns.DropNeuron(li=0.1, lo=0.1))(x)
    x = ns.TriStateReLU(binarize=0.01)(x)
    model = keras.Model(inputs, keras.layers.Dense(3, kernel_regularizer=ns.L1(0.1))(x))
    first = model.layers[1]
    kernel = first.kernel.numpy()
    kernel[:, :5] = 0.0
    first.kernel.assign(kernel)
    return model


@pytest.mark.slow
def test_shrunk_model_loads_without_the_library(tmp_path, rng):
    model = _trained_looking_model(rng)
    compact = ns.shrink(model)
    path = tmp_path / "compact.keras"
    compact.save(path)
    assert "tf_neuronselect" not in zipfile.ZipFile(path).read("config.json").decode()
    x = rng.normal(size=(16, 10)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    result = subprocess.run([sys.executable, "-c", LOADER, str(path), str(tmp_path / "x.npy"),
                             str(tmp_path / "y.npy")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), model.predict(x, verbose=0),
                               atol=1e-5)


def test_shrinking_for_training_keeps_the_penalties(rng):
    compact = ns.shrink(_trained_looking_model(rng), keep_training_layers=True)
    assert isinstance(compact.layers[1].kernel_regularizer, ns.GroupLasso)
    assert any(isinstance(layer, ns.Gate) for layer in compact.layers)
