"""``add_gates``: one gate per unit layer, where closing it frees the layer's channels."""

import keras
import numpy as np
import pytest

import tf_neuronselect as ns
from tests.helpers import model_zoo
from tests.helpers.checks import assert_equivalent
from tests.helpers.checks import assert_stock_only
from tests.test_unit_groups import inverted_residual
from tf_neuronselect.utils import keras_private

L = keras.layers


def _producer_of_input(layer):
    return keras_private.producer(layer.input)[0].name


def _close(model, gate, channels):
    theta = keras.ops.convert_to_numpy(model.get_layer(gate).theta).copy()
    theta[channels] = 0.0
    model.get_layer(gate).theta.assign(theta)


@pytest.fixture
def block():
    model = inverted_residual()
    rng = np.random.default_rng(0)
    for name in ("bn1", "bn2", "bn3"):
        model_zoo.randomize_batchnorm(model.get_layer(name), rng)
    return model


def test_gates_sit_after_the_last_layer_every_reader_is_reached_through(block):
    gated, gates = ns.add_gates(block, l1=1e-3)
    assert gates == {"stem_gate": "stem", "expand_gate": "expand", "reduce_gate": "reduce",
                     "excite_gate": "excite", "project_gate": "project"}
    # After the depthwise BatchNorm and ReLU: the squeeze and the product both read the gate.
    relu = gated.get_layer(_producer_of_input(gated.get_layer("expand_gate")))
    assert isinstance(relu, L.ReLU) and _producer_of_input(relu) == "bn2"
    assert _producer_of_input(gated.get_layer("squeeze")) == "expand_gate"
    assert _producer_of_input(gated.get_layer("project_gate")) == "bn3"  # before the Add
    assert gated.get_layer("expand_gate").l1 == 1e-3
    x = np.random.default_rng(1).normal(size=(2, 8, 8, 3)).astype("float32")
    assert_equivalent(block, gated, x)  # open gates change nothing
    assert not any(isinstance(layer, ns.Gate) for layer in block.layers)  # a copy


def test_a_closed_gate_frees_its_channels_through_batchnorm_and_the_product(block):
    gated, _ = ns.add_gates(block)
    _close(gated, "expand_gate", [0, 3, 7, 9])
    shrunk = ns.shrink(gated)
    assert_equivalent(gated, shrunk, np.random.default_rng(2).normal(size=(2, 8, 8, 3)))
    assert_stock_only(shrunk)
    assert shrunk.get_layer("expand").filters == 8 == shrunk.get_layer("excite").filters


def test_a_residual_channel_needs_every_partner_gate_closed(block):
    gated, _ = ns.add_gates(block)
    _close(gated, "project_gate", [1])
    assert ns.make_plan(gated).layers["stem"].keep_out.tolist() == list(range(6))
    _close(gated, "stem_gate", [1])
    assert 1 not in ns.make_plan(gated).layers["stem"].keep_out.tolist()


def test_no_gate_where_closing_it_would_free_nothing():
    x = keras.Input((5,))
    h = L.Dense(8, name="mixed")(x)
    h = L.LayerNormalization(name="norm")(h)  # mixes the channels: they can never go
    h = L.Dense(6, activation="relu", name="hidden")(h)
    gated, gates = ns.add_gates(keras.Model(x, L.Dense(2, name="head")(h)))
    assert gates == {"hidden_gate": "hidden"}
