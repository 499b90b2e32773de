"""Unit groups: what they span, the joint prox across variables, and penalties over them."""

import keras
import numpy as np
import pytest

import tf_neuronselect as ns
from tests.helpers import model_zoo
from tests.helpers.checks import assert_equivalent
from tests.helpers.errors import exactly
from tests.helpers.references import numpy_joint_group_prox
from tests.helpers.unit_groups import zero_unit_groups
from tf_neuronselect.regularizers.unit_group_penalty import joint_group_prox

L = keras.layers
BN = ("gamma", "beta", "moving_mean", "moving_variance")


def inverted_residual():
    """A stem, then a MobileNetV2/V3 block: expand, depthwise, squeeze-and-excitation, project,
    residual add."""
    x = keras.Input((8, 8, 3))
    stem = L.Conv2D(6, 3, padding="same", name="stem")(x)
    h = L.ReLU()(L.BatchNormalization(name="bn1")(L.Conv2D(12, 1, use_bias=False,
                                                             name="expand")(stem)))
    h = L.DepthwiseConv2D(3, padding="same", use_bias=False, name="dw")(h)
    h = L.ReLU()(L.BatchNormalization(name="bn2")(h))
    s = L.GlobalAveragePooling2D(keepdims=True, name="squeeze")(h)
    s = L.Conv2D(4, 1, activation="relu", name="reduce")(s)
    s = L.Conv2D(12, 1, activation="sigmoid", name="excite")(s)
    h = L.Multiply(name="scale")([h, s])
    h = L.BatchNormalization(name="bn3")(L.Conv2D(6, 1, use_bias=False, name="project")(h))
    h = L.Add(name="residual")([stem, h])
    return keras.Model(x, L.Dense(3, name="head")(L.GlobalAveragePooling2D(name="pool")(h)))


def _described(group):
    return sorted(f"{s.layer}.{s.weight}{list(s.units)}:{s.role}" for s in group.slices)


def test_an_inverted_residual_block_reads_like_its_diagram():
    groups = {g.name: g for g in ns.unit_groups(inverted_residual())}
    c = 5
    expanded = [f"expand.kernel[{c}]:produces", f"excite.kernel[{c}]:produces",
                f"excite.bias[{c}]:produces", f"dw.kernel[{c}]:carries",
                f"reduce.kernel[{c}]:reads", f"project.kernel[{c}]:reads"]
    expanded += [f"{bn}.{w}[{c}]:carries" for bn in ("bn1", "bn2") for w in BN]
    assert _described(groups[f"expand[{c}]"]) == sorted(expanded)
    c = 2  # the residual channel: the stem and the projection produce it together
    residual = [f"stem.kernel[{c}]:produces", f"stem.bias[{c}]:produces",
                f"project.kernel[{c}]:produces", f"expand.kernel[{c}]:reads",
                f"head.kernel[{c}]:reads"] + [f"bn3.{w}[{c}]:carries" for w in BN]
    assert _described(groups[f"stem[{c}]"]) == sorted(residual)
    assert groups["head[0]"].pinned == "feeds a model output"
    assert len(groups) == 3 + 6 + 12 + 4 + 3  # input channels, residual, expanded, SE, head


def test_the_group_table_names_every_group():
    text = str(ns.unit_groups(inverted_residual()))
    assert text.splitlines()[-1] == "28 groups, 22 removable"
    assert "expand[0]" in text and "pinned: model input" in text


@pytest.mark.parametrize("alpha", [0.0, 0.4])
def test_the_joint_prox_matches_a_numpy_reference_and_gives_exact_zeros(alpha):
    rng = np.random.default_rng(0)
    kernel, bias, gamma = rng.normal(size=(5, 4)), rng.normal(size=4), rng.normal(size=4)
    kernel[:, 3] *= 0.01  # a weak unit: its group must reach exactly zero
    bias[3] *= 0.01
    gamma[3] *= 0.01
    ids = [[0, 1, 2, 3], [0, 1, 2, 3], [0, 1, 2, -1]]  # gamma[3] is not in the set
    penalties = [ns.UnitGroupPenalty(0.3, alpha, "s", "standard", "incoming", i) for i in ids]
    values = [keras.ops.convert_to_tensor(v.astype("float32")) for v in (kernel, bias, gamma)]
    got = [keras.ops.convert_to_numpy(v) for v in joint_group_prox(values, penalties, 0.5)]
    expected = numpy_joint_group_prox([kernel, bias, gamma[:3]], [i[:len(i)] for i in
                                 ([0, 1, 2, 3], [0, 1, 2, 3], [0, 1, 2])], 0.5, 0.3, alpha)
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[2][:3], expected[2], rtol=1e-5, atol=1e-6)
    assert got[2][3] == np.float32(gamma[3])  # outside the set: untouched
    assert np.all(got[0][:, 3] == 0) and got[1][3] == 0


def test_add_penalty_over_unit_groups_puts_one_set_on_every_removable_group():
    model = inverted_residual()
    names = ns.add_penalty(model, ns.SparseGroupLasso(1e-3, alpha=0.2), over="unit_groups")
    assert names == ["stem", "expand", "bn1", "dw", "bn2", "reduce", "excite", "project",
                     "bn3"]
    shares = {f"{l.name}.{w.name}": w.regularizer for l in model.layers for w in l.weights
              if isinstance(getattr(w, "regularizer", None), ns.UnitGroupPenalty)}
    assert "head.kernel" not in shares and "bn1.moving_mean" not in shares
    assert len({s.set_name for s in shares.values()}) == 1
    assert all((s.strength, s.alpha) == (1e-3, 0.2) for s in shares.values())
    # Saved with the model: the depthwise kernel through depthwise_regularizer.
    config = model.get_layer("dw").get_config()["depthwise_regularizer"]
    assert config["registered_name"] == "tf_neuronselect>UnitGroupPenalty"
    assert shares["dw.kernel"].layout == "depthwise"
    assert shares["excite.kernel"].group_ids == shares["expand.kernel"].group_ids


def _data(rng, count=128):
    """Images and a target that needs a few channels: each input channel's mean."""
    x = rng.normal(size=(count, 8, 8, 3)).astype("float32")
    return x, 3.0 * x.mean(axis=(1, 2))


def _group_norms(model, group):
    layers = {layer.name: layer for layer in model.layers}
    norms = []
    for s in group.slices:
        if s.role == "reads":
            continue
        variable = ns.analysis.groups.find_weight(layers[s.layer], s.weight)
        if variable.trainable:
            matrix = ns.grouping.unit_matrix(keras.ops.convert_to_numpy(variable), s.layout,
                                             s.side)
            norms.append(float(np.linalg.norm(np.asarray(matrix)[:, list(s.units)])))
    return norms


@pytest.mark.slow
def test_training_zeroes_whole_groups_in_every_variable_at_once(tmp_path):
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    model = inverted_residual()
    ns.add_penalty(model, ns.GroupLasso(0.16), over="unit_groups")
    model.compile(ns.ProximalSGD(0.05, momentum=0.9), "mse")
    x, y = _data(rng)
    model.fit(x, y, epochs=10, batch_size=32, verbose=0)
    states = [_group_norms(model, g) for g in ns.unit_groups(model).removable()
              if g.layers(("produces",))]
    dead = [norms for norms in states if max(norms) == 0]
    assert dead and all(min(norms) > 0 for norms in states if max(norms) > 0)
    shrunk = ns.shrink(model)
    assert_equivalent(model, shrunk, x[:8])
    assert shrunk.count_params() < model.count_params()
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    share = loaded.get_layer("bn1").gamma.regularizer
    assert isinstance(share, ns.UnitGroupPenalty) and share.strength == pytest.approx(0.16)
    loaded.fit(x, y, epochs=1, batch_size=32, verbose=0)  # the joint prox is rebuilt


def test_budgets_scale_the_unit_group_strength():
    model = inverted_residual()
    ns.add_penalty(model, ns.GroupLasso(1e-3), over="unit_groups")
    ns.training.scale_strengths(model, 4.0)
    strengths = {round(w.regularizer.strength, 12) for l in model.layers for w in l.weights
                 if isinstance(getattr(w, "regularizer", None), ns.UnitGroupPenalty)}
    assert strengths == {4e-3}


def test_zeroed_groups_of_the_block_shrink_exactly():
    model = inverted_residual()
    rng = np.random.default_rng(3)
    for name in ("bn1", "bn2", "bn3"):
        model_zoo.randomize_batchnorm(model.get_layer(name), rng)
    assert zero_unit_groups(model, 0.5, rng) > 0
    shrunk = ns.shrink(model)
    assert_equivalent(model, shrunk, _data(rng, 4)[0])
    assert shrunk.count_params() < model.count_params()


@pytest.mark.parametrize("kwargs, error, message", [
    ({"over": "channels"}, ValueError, "add_penalty: expected `over` to be one of 'kernels', "
     "'unit_groups'. Received: over='channels'. Pass one of the listed values."),
    ({"over": "unit_groups", "penalty": ns.L1(1e-3)}, TypeError, "add_penalty: expected a "
     "GroupLasso or SparseGroupLasso with groups='incoming' for over='unit_groups'. Received: "),
])
def test_bad_unit_group_penalties_are_refused(kwargs, error, message):
    arguments = {"penalty": ns.GroupLasso(1e-3), **kwargs}
    with pytest.raises(error, match=exactly(message) if message.endswith(".") else
                       "^" + message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        ns.add_penalty(inverted_residual(), **arguments)
