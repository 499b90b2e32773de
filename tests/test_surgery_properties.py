"""Property test: random small DAGs with random dead units shrink to equivalent models.

Derandomized: every run checks the same 50 cases, and a failure names the case's mask seed and
dead share (hypothesis also prints the draws that build its graph). For a random search run
``NS_FUZZ_RANDOM=1 .venv/bin/python -m pytest tests/test_surgery_properties.py``; a failure then
prints a ``@reproduce_failure`` blob that replays it.
"""

import os

import keras
import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import tf_neuronselect as ns
from tests.helpers import model_zoo

L = keras.layers
OPS = ["conv1", "conv3", "dense", "bn", "add", "concat", "pool", "relu"]


def _same_spatial(tensors, tensor):
    return [t for t in tensors if tuple(t.shape[1:-1]) == tuple(tensor.shape[1:-1])]


def _step(data, tensors):
    op = data.draw(st.sampled_from(OPS))
    src = tensors[data.draw(st.integers(0, len(tensors) - 1))]
    width = data.draw(st.integers(2, 6))
    activation = data.draw(st.sampled_from([None, "relu", "sigmoid"]))
    if op == "conv3" and min(src.shape[1:-1]) >= 3:
        return L.Conv2D(width, 3, activation=activation)(src)
    if op == "dense":
        return L.Dense(width, activation=activation)(src)
    if op == "bn":
        return L.BatchNormalization()(src)
    if op == "relu":
        return L.ReLU()(src)
    if op == "pool":
        return L.MaxPooling2D(2, padding="same")(src)
    partners = _same_spatial(tensors, src)
    other = partners[data.draw(st.integers(0, len(partners) - 1))]
    if op == "add":
        return L.Add()([src, L.Conv2D(src.shape[-1], 1, activation=activation)(other)])
    if op == "concat":
        return L.Concatenate()([src, other])
    return L.Conv2D(width, 1, activation=activation)(src)


@pytest.mark.slow
@settings(max_examples=50, deadline=None, print_blob=True,
          derandomize=os.environ.get("NS_FUZZ_RANDOM") != "1")
@given(st.data())
def test_random_dag_shrinks_exactly(data):
    keras.backend.clear_session()
    inputs = keras.Input((6, 6, 3))
    tensors = [inputs]
    for _ in range(data.draw(st.integers(1, 6))):
        tensors.append(_step(data, tensors))
    head = L.Dense(3)(L.Flatten()(tensors[-1]))
    model = keras.Model(inputs, head)
    seed = data.draw(st.integers(0, 2**16), label="seed")
    share = data.draw(st.floats(0.0, 0.9), label="share")
    rng = np.random.default_rng(seed)
    model_zoo.kill_units(model, share, rng)
    case = f"mask seed {seed}, dead share {share:.3f}, layers " + ", ".join(
        type(layer).__name__ for layer in model.layers)
    plan = ns.make_plan(model)
    shrunk = ns.shrink(model)
    x = model_zoo.random_inputs(model, rng, batch=3)
    before = keras.ops.convert_to_numpy(model(x, training=False))
    after = keras.ops.convert_to_numpy(shrunk(x, training=False))
    error = np.max(np.abs(before - after)) / max(1.0, float(np.max(np.abs(before))))
    assert error <= 1e-5, f"{case}: outputs differ by {error:.3g} (relative)"
    assert shrunk.count_params() == plan.params_after, case
