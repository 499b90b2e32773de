"""``prune``: importance scores against NumPy, coupled channels together, targets, bias
compensation, and refusals with exact messages."""

import keras
import numpy as np
import pytest

import tf_neuronselect as ns
from tests.helpers.checks import assert_equivalent
from tests.helpers.errors import exactly
from tests.helpers.unit_groups import zero_unit_groups

L = keras.layers


def _mlp_bn():
    x = keras.Input((5,))
    h = L.Dense(4, name="d1")(x)
    h = L.ReLU(name="relu")(L.BatchNormalization(name="bn")(h))
    return keras.Model(x, L.Dense(3, name="d2")(h))


def _weights(model, layer):
    return [keras.ops.convert_to_numpy(w) for w in model.get_layer(layer).weights]


def _by_name(model, kind, data=None, loss=None):
    groups = [g for g in ns.unit_groups(model) if g.name.startswith("d1[")]
    scores = ns.pruning.group_importance(model, groups, kind, data, loss)
    return {g.name: s for g, s in zip(groups, scores)}


def test_magnitude_scores_span_the_whole_group():
    model = _mlp_bn()
    rng = np.random.default_rng(0)
    for layer in model.layers[1:]:
        layer.set_weights([rng.normal(size=w.shape) for w in layer.get_weights()])
    (w1, b1), (gamma, beta, _, _), (w2, _) = (_weights(model, n) for n in ("d1", "bn", "d2"))
    for j in range(4):
        entries = np.concatenate([w1[:, j], [b1[j], gamma[j], beta[j]], w2[j, :]])
        assert _by_name(model, "l2")[f"d1[{j}]"] == pytest.approx(np.linalg.norm(entries))
        assert _by_name(model, "l1")[f"d1[{j}]"] == pytest.approx(np.abs(entries).sum())
        assert _by_name(model, "bn_scale")[f"d1[{j}]"] == pytest.approx(abs(gamma[j]))


def test_taylor_scores_match_the_analytic_gradient():
    x = keras.Input((3,))
    model = keras.Model(x, L.Dense(2, name="d2")(L.Dense(4, name="d1")(x)))  # linear
    rng = np.random.default_rng(1)
    for layer in model.layers[1:]:
        layer.set_weights([rng.normal(size=w.shape) for w in layer.get_weights()])
    inputs, targets = rng.normal(size=(64, 3)), rng.normal(size=(64, 2))
    (w1, b1), (w2, b2) = _weights(model, "d1"), _weights(model, "d2")
    hidden = inputs @ w1 + b1
    error = 2 * (hidden @ w2 + b2 - targets) / targets.size  # d mean squared error / d output
    g_w2, g_hidden = hidden.T @ error, error @ w2.T
    g_w1, g_b1 = inputs.T @ g_hidden, g_hidden.sum(axis=0)
    scores = _by_name(model, "taylor", (inputs.astype("float32"), targets.astype("float32")),
                      keras.losses.MeanSquaredError())
    for j in range(4):
        expected = abs(np.sum(w1[:, j] * g_w1[:, j]) + b1[j] * g_b1[j]
                       + np.sum(w2[j] * g_w2[j]))
        assert scores[f"d1[{j}]"] == pytest.approx(expected, rel=1e-4)


def _head_entries(arrays, unit, shared=1):
    """The entries of key/value head ``unit`` (with its ``shared`` query heads) in an
    attention layer's ``{path inside the layer: array}``: the query, key and value kernel
    slices and biases and the output kernel's rows."""
    queries = list(range(unit * shared, (unit + 1) * shared))
    entries = []
    for path, value in arrays.items():
        if path.startswith("attention_output/kernel"):
            entries.append(value[queries])
        elif path.startswith(("query", "key", "value")):
            heads = queries if path.startswith("query") else [unit]
            entries.append(value[:, heads] if path.endswith("kernel") else value[heads])
    return entries


def test_taylor_scores_a_head_over_its_query_key_value_and_output_slices():
    import tensorflow as tf

    from tests.test_attention import transformer

    model = transformer(blocks=1)
    rng = np.random.default_rng(2)
    layer = model.get_layer("att0")
    for weight in layer.weights:  # non-zero biases, so they count
        weight.assign(rng.normal(size=weight.shape).astype("float32") * 0.5)
    x = rng.normal(size=(16, 6, 10)).astype("float32")
    y = rng.normal(size=(16, 3)).astype("float32")
    with tf.GradientTape() as tape:  # the independent gradient: TensorFlow's, one batch
        loss = keras.losses.MeanSquaredError()(y, model(x))
    products = {w.path.split("/", 1)[1]: keras.ops.convert_to_numpy(w) * g.numpy()
                for w, g in zip(layer.weights, tape.gradient(loss, layer.weights))}
    groups = [g for g in ns.unit_groups(model) if g.name.startswith("att0.heads")]
    scores = ns.pruning.group_importance(model, groups, "taylor", (x, y),
                                         keras.losses.MeanSquaredError())
    for head, score in enumerate(scores):
        total = sum(entries.sum() for entries in _head_entries(products, head))
        assert score == pytest.approx(abs(total), rel=1e-3)


def test_activation_scores_are_mean_absolute_outputs():
    x = keras.Input((3,))
    model = keras.Model(x, L.Dense(2, name="d2")(L.Dense(4, activation="relu", name="d1")(x)))
    inputs = np.random.default_rng(2).normal(size=(50, 3)).astype("float32")
    w1, b1 = _weights(model, "d1")
    expected = np.abs(np.maximum(inputs @ w1 + b1, 0)).mean(axis=0)
    scores = _by_name(model, "activation", inputs)
    assert [scores[f"d1[{j}]"] for j in range(4)] == pytest.approx(expected.tolist(), rel=1e-5)


def _residual(width=8):
    x = keras.Input((6, 6, 3))
    a = L.Conv2D(width, 3, padding="same", name="a")(x)
    b = L.Conv2D(width, 1, name="b")(x)
    h = L.ReLU(name="relu")(L.Add(name="add")([a, b]))
    h = L.Conv2D(10 if width == 8 else 3 * width, 3, activation="relu", name="c")(h)
    return keras.Model(x, L.Dense(3, name="head")(L.Flatten(name="flat")(h)))


def test_channels_coupled_through_an_add_go_together_and_dead_ones_go_exactly():
    model = _residual()
    rng = np.random.default_rng(3)
    zero_unit_groups(model, 0.4, rng)
    dead = ns.make_plan(model).params_after
    pruned = ns.prune(model, params=dead)  # exactly the zeroed groups: the lowest norms
    assert_equivalent(model, pruned, rng.normal(size=(4, 6, 6, 3)).astype("float32"))
    assert pruned.get_layer("a").filters == pruned.get_layer("b").filters < 8
    kernel_a = keras.ops.convert_to_numpy(model.get_layer("a").kernel)
    assert np.any(kernel_a != 0)  # the given model is left as it was


@pytest.mark.parametrize("target", [{"params": 0.3}, {"macs": 0.3}, {"params": 0.3,
                                    "ranking": "local"}, {"params": 0.25, "steps": 3}])
def test_size_targets_are_met_within_ten_percent(target):
    model = _residual(width=32)  # fine-grained enough for a 10% band
    kind = "params" if "params" in target else "macs"
    before = model.count_params() if kind == "params" else ns.count_macs(model)
    pruned = ns.prune(model, **target)
    after = pruned.count_params() if kind == "params" else ns.count_macs(pruned)
    assert after / (target[kind] * before) == pytest.approx(1.0, abs=0.1)


def test_widths_round_to_and_ignored_layers():
    model = _residual()
    pruned = ns.prune(model, widths={"c": 4})
    assert pruned.get_layer("c").filters == 4 and pruned.get_layer("a").filters == 8
    pruned = ns.prune(model, fraction=0.5, round_to=4, ignored_layers=["c"])
    assert pruned.get_layer("c").filters == 10
    assert pruned.get_layer("a").filters % 4 == 0


def test_bias_compensation_lowers_the_error_right_after_pruning():
    rng = np.random.default_rng(4)
    x = keras.Input((8,))
    h = L.Dense(32, activation="relu", name="hidden")(x)
    model = keras.Model(x, L.Dense(4, name="head")(h))
    hidden = model.get_layer("hidden")
    # Units that vary little around positive means: what compensation is for.
    hidden.kernel.assign(0.1 * keras.ops.convert_to_numpy(hidden.kernel))
    hidden.bias.assign(rng.uniform(0.5, 1.5, 32))
    inputs = rng.normal(size=(256, 8)).astype("float32")
    reference = keras.ops.convert_to_numpy(model(inputs))

    def error(pruned):
        return float(np.mean((keras.ops.convert_to_numpy(pruned(inputs)) - reference) ** 2))

    plain = ns.prune(model, fraction=0.5)
    compensated = ns.prune(model, fraction=0.5, data=inputs)
    assert error(compensated) < 0.5 * error(plain)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"fraction": 1.5}, ValueError, "prune: expected `fraction` to be a float in (0, 1). "
     "Received: fraction=1.5. How to fix: pass e.g. fraction=0.5."),
    ({"fraction": 0.0}, ValueError, "prune: expected `fraction` to be a float in (0, 1). "
     "Received: fraction=0.0. How to fix: pass e.g. fraction=0.5."),
    ({}, ValueError, "prune: expected exactly one target: fraction=, params=, macs= or "
     "widths=. Received: none. How to fix: pass e.g. fraction=0.5 (remove half of the units) "
     "or params=0.1 (keep a tenth of the parameters)."),
    ({"widths": {"c": 11}}, ValueError, "prune: expected widths['c'] <= 10 (the layer's "
     "units). Received: 11. How to fix: ask for at most 10 units."),
    ({"widths": {"nope": 2}}, ValueError, "prune: expected `widths` to name layers whose units "
     "can be pruned. Received: 'nope'. How to fix: use names from ['a', 'c']."),
    ({"fraction": 0.5, "ignored_layers": ["nope"]}, ValueError, "prune: expected "
     "`ignored_layers` to name layers of the model. Received: ['nope']. How to fix: use names "
     "from model.layers."),
    ({"fraction": 0.5, "importance": "taylor"}, ValueError, "prune: expected `data=` (a few "
     "batches of inputs, or (x, y)) for a data-driven importance or bias compensation. "
     "Received: data=None. How to fix: pass e.g. data=(x_train[:512], y_train[:512]), or "
     "importance='l2'."),
    ({"fraction": 0.5, "importance": "taylor", "data": np.zeros((4, 6, 6, 3))}, ValueError,
     "prune: expected `data=(x, y)` with labels for the Taylor importance (it takes the "
     "loss's gradient). Received: data of type ndarray. How to fix: pass "
     "data=(x_train[:512], y_train[:512])."),
    ({"fraction": 0.5, "importance": "size"}, ValueError, "prune: expected `importance` to be "
     "one of 'l2', 'l1', 'bn_scale', 'taylor', 'activation'. Received: importance='size'. "
     "Pass one of the listed values."),
])
def test_bad_targets_are_refused(kwargs, error, message):
    with pytest.raises(error, match=exactly(message)):
        ns.prune(_residual(), **kwargs)


def test_an_unreachable_size_warns_and_names_the_limit():
    inputs = keras.Input((8,))
    hidden = keras.layers.Dense(10, activation="relu")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(3)(hidden))
    # At most 5 of the 10 hidden units may go: 8 * 5 + 5 + 5 * 3 + 3 = 63 parameters remain.
    with pytest.warns(UserWarning) as caught:
        compact = ns.prune(model, params=1, max_layer_fraction=0.5)
    assert compact.count_params() == 63
    [message] = [str(w.message) for w in caught if str(w.message).startswith("prune:")]
    assert message == (
        "prune: the target params=1 is out of reach: removing every unit that "
        "max_layer_fraction=0.5 (and ignored_layers) allow leaves 63. The model returned has "
        "that size. How to fix: raise max_layer_fraction (at most 1.0 keeps one unit per "
        "layer) or prune in more steps.")


def test_a_transformer_loses_mlp_neurons_and_keeps_its_heads():
    from tests.test_attention import transformer

    model = transformer()
    compact = ns.prune(model, widths={"mlp0a": 20, "mlp1b": 10})
    # mlp0a: 28 columns of 16 + 1 and mlp0b's 28 rows of 32; mlp1b: 22 columns of 48 + 1 and
    # mlp1c's 22 rows of 16. Heads are ranked as "att0.heads" apart: widths names none.
    assert compact.count_params() == model.count_params() - (28 * 17 + 28 * 32 + 22 * 49 + 22 * 16)
    assert [compact.get_layer(f"att{b}").num_heads for b in (0, 1)] == [4, 4]
    assert compact.get_layer("mlp0a").units == 20 and compact.get_layer("mlp1b").units == 10


def _head_norms(layer, shared):
    """Each key/value head's L2 norm over its query (``shared`` query heads), key and value
    slices and its output rows, read straight from the weights."""
    weights = {w.path.split("/", 1)[1]: keras.ops.convert_to_numpy(w) for w in layer.weights}
    kv_heads = weights["value/kernel"].shape[1]
    return np.array([np.sqrt(sum(np.sum(e ** 2) for e in _head_entries(weights, unit, shared)))
                     for unit in range(kv_heads)])


@pytest.mark.parametrize("grouped", [False, True])
def test_heads_are_pruned_by_their_whole_group_norm(grouped):
    from tests.test_attention import kill_heads
    from tests.test_attention import transformer

    model = transformer(grouped=grouped)
    for layer in model.layers:  # non-zero biases, so they count in the norms
        for weight in layer.weights:
            if weight.path.endswith("bias"):
                weight.assign(np.random.default_rng(1).normal(size=weight.shape) * 0.3)
    shared = 2 if grouped else 1
    kv_heads = 4 // shared
    norms = _head_norms(model.get_layer("att1"), shared)
    kept = sorted(np.argsort(norms)[-1:]) if grouped else sorted(np.argsort(norms)[-2:])
    compact = ns.prune(model, widths={"att1.heads": len(kept)})
    gone = [h for h in range(kv_heads) if h not in kept]
    x = np.random.default_rng(0).normal(size=(3, 6, 10)).astype("float32")
    expected = model(x)
    # The answer: the same model with the other heads silenced by hand. Their value biases
    # reached the output through the softmax average, so the output bias no longer sees them.
    layer = model.get_layer("att1")
    kill_heads(layer, value_heads=gone,
               output_heads=[q for h in gone for q in range(h * shared, (h + 1) * shared)])
    assert_equivalent(model, compact, x)
    assert not np.allclose(keras.ops.convert_to_numpy(expected), model(x), atol=1e-4)
    attention = compact.get_layer("att1")
    heads = attention.num_key_value_heads if grouped else attention.num_heads
    assert heads == len(kept)
    assert compact.get_layer("att0").count_params() == model.get_layer("att0").count_params()


def test_heads_and_neurons_share_one_global_ranking():
    from tests.test_attention import transformer

    model = transformer()
    compact = ns.prune(model, fraction=0.5)
    heads = [compact.get_layer(f"att{b}").num_heads for b in (0, 1)]
    neurons = [compact.get_layer(f"mlp{b}a").units for b in (0, 1)]
    assert min(heads) < 4 and min(neurons) < 48


def test_gradient_rms_is_the_root_mean_square_of_the_batch_gradients():
    import tensorflow as tf

    from tf_neuronselect.pruning.gradients import gradient_rms

    model = _mlp_bn()
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 5)).astype("float32")  # batches of 128, 128 and 44
    y = rng.integers(0, 3, size=300)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    squares = [np.zeros(w.shape) for w in model.trainable_weights]
    for start in range(0, 300, 128):  # the independent gradients: TensorFlow's, batch by batch
        with tf.GradientTape() as tape:
            value = loss(y[start:start + 128], model(x[start:start + 128], training=True))
        for total, g in zip(squares, tape.gradient(value, model.trainable_weights)):
            total += g.numpy().astype(np.float64) ** 2
    rms = gradient_rms(model, (x, y), loss)
    for weight, total in zip(model.trainable_weights, squares):
        np.testing.assert_allclose(rms[weight.path], np.sqrt(total / 3), rtol=1e-4, atol=1e-7)
