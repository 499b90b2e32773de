"""The shrunk attention and recurrent models export to TFLite files that compute what Keras
computes (float32, to 1e-5 of the largest output)."""

import keras
import numpy as np
import pytest

import tf_neuronselect as ns
from tests.helpers.unit_groups import zero_unit_groups
from tests.test_attention import kill_heads
from tests.test_attention import transformer
from tf_neuronselect.exporting import run_tflite

L = keras.layers


def _lstm_model():
    x = keras.Input((8, 6))
    h = L.LSTM(12, return_sequences=True, name="lstm")(x)
    h = L.GRU(10, name="gru")(h)
    return keras.Model(x, L.Dense(4, name="head")(h))


@pytest.mark.slow
@pytest.mark.parametrize("build, shape", [(transformer, (6, 10)), (_lstm_model, (8, 6))],
                         ids=["transformer", "lstm_gru"])
def test_shrunk_sequence_models_match_keras_in_tflite(build, shape, tmp_path):
    rng = np.random.default_rng(0)
    model = build()
    if build is transformer:
        kill_heads(model.get_layer("att0"), value_heads=[2])
    zero_unit_groups(model, 0.4, rng)
    shrunk = ns.shrink(model)
    assert shrunk.count_params() < model.count_params()
    manifest = ns.export(shrunk, tmp_path / "out", formats=("tflite",))
    batch = manifest["tflite"]["float32"]["inputs"][0]["shape"][0]
    assert batch == (1 if build is _lstm_model else None)  # recurrent loops need a fixed batch
    x = rng.normal(size=(1,) + shape).astype("float32")
    expected = keras.ops.convert_to_numpy(shrunk(x))
    got = run_tflite(tmp_path / "out" / "model_float32.tflite", x)[0]
    assert np.max(np.abs(got - expected)) <= 1e-5 * max(1.0, float(np.max(np.abs(expected))))
