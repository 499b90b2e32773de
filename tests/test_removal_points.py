"""Removal points of fit_with_shrinking: a point every N steps, an epoch split by a removal
that callbacks do not see, the data of the rest of an epoch, and no plan while nothing dies."""

import keras
import numpy as np
import pytest

import tf_neuronselect as ns
from tests.helpers import model_zoo
from tests.helpers.errors import exactly
from tf_neuronselect.selection.dead import dead_counts
from tf_neuronselect.selection.dead import layer_status
from tf_neuronselect.training import removal
from tf_neuronselect.training import resume

KILLED = np.arange(3)  # the gates a callback closes
KEPT = np.arange(3, 8)
STEPS_PER_EPOCH = 6  # 96 examples, batch 16


def _model():
    keras.utils.set_random_seed(3)
    inputs = keras.Input((6,))
    x = keras.layers.Dense(8, activation="relu", name="hidden")(inputs)
    x = ns.Gate(name="gate")(x)  # no L1: only the callback closes gates
    model = keras.Model(inputs, keras.layers.Dense(3, name="head")(x))
    model.compile(keras.optimizers.SGD(0.05, momentum=0.9),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _data(rng):
    x = rng.normal(size=(16 * STEPS_PER_EPOCH, 6)).astype("float32")
    return x, (x[:, 0] > 0).astype("int32") + (x[:, 1] > 1).astype("int32")


class CloseGatesAt(keras.callbacks.Callback):
    """Closes the KILLED gates after training step ``step`` (counting every step run)."""

    def __init__(self, step):
        super().__init__()
        self.step, self.done = step, 0

    def on_train_batch_end(self, batch, logs=None):
        self.done += 1
        if self.done == self.step:
            gate = self.model.get_layer("gate")
            theta = gate.theta.numpy()
            theta[KILLED] = -1.0  # below what momentum could still carry it back up
            gate.theta.assign(theta)


FIT = {"batch_size": 16, "shuffle": False, "verbose": 0}


# Removal points every 4 steps; with shrink_every=1 also at every epoch end (6, 12, 18).
@pytest.mark.parametrize("closed_at, shrink_every, point", [
    (5, 10, 8), (8, 10, 8), (12, 10, 12), (5, 1, 6), (7, 1, 8), (13, 1, 16)])
def test_a_gate_dead_at_step_k_is_removed_at_the_next_removal_point(rng, closed_at,
                                                                    shrink_every, point):
    x, y = _data(rng)
    reference = _model()
    reference.fit(x, y, epochs=3, callbacks=[CloseGatesAt(closed_at)], **FIT)
    model, history = ns.fit_with_shrinking(
        _model(), x, y, epochs=3, shrink_every=shrink_every, shrink_every_steps=4,
        shrink_at_end=False, min_fraction=0.0, callbacks=[CloseGatesAt(closed_at)], **FIT)
    assert [(s["step"], s["epoch"]) for s in history.shrinks] == [
        (point, point // STEPS_PER_EPOCH)]
    assert history.shrinks[0]["units"]["hidden"] == (8, 5)
    assert int(model.optimizer.iterations) == 3 * STEPS_PER_EPOCH
    assert history.epoch == [0, 1, 2] and len(history.history["loss"]) == 3
    # Exact removal and shuffle=False: the rest of a split epoch is the same batches.
    hidden, head = reference.get_layer("hidden"), reference.get_layer("head")
    expected = [hidden.kernel.numpy()[:, KEPT], hidden.bias.numpy()[KEPT],
                head.kernel.numpy()[KEPT], head.bias.numpy()]
    got = model.get_layer("hidden").get_weights() + model.get_layer("head").get_weights()
    for want, have in zip(expected, got):
        np.testing.assert_allclose(have, want, atol=2e-6)


class Hooks(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(("begin", epoch, self.params["steps"]))

    def on_train_batch_end(self, batch, logs=None):
        self.calls.append(batch)

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("end", epoch, self.model.get_layer("hidden").units))


def test_callbacks_see_one_epoch_across_a_removal_inside_it(rng):
    hooks = Hooks()
    ns.fit_with_shrinking(_model(), *_data(rng), epochs=2, shrink_every_steps=2,
                          min_fraction=0.0, callbacks=[CloseGatesAt(3), hooks], **FIT)
    epoch = list(range(STEPS_PER_EPOCH))
    assert hooks.calls == [("begin", 0, 6), *epoch, ("end", 0, 5),
                           ("begin", 1, 6), *epoch, ("end", 1, 5)]


@pytest.mark.parametrize("data", ["shuffled arrays", "dataset"])
def test_the_rest_of_a_split_epoch_has_the_steps_left(rng, data):
    import tensorflow as tf

    x, y = _data(rng)
    fit = {"batch_size": 16, "verbose": 0}
    if data == "dataset":
        x, y, fit = tf.data.Dataset.from_tensor_slices((x, y)).batch(16), None, {"verbose": 0}
    model, history = ns.fit_with_shrinking(_model(), x, y, epochs=2, shrink_every_steps=4,
                                           min_fraction=0.0, callbacks=[CloseGatesAt(1)], **fit)
    assert [s["step"] for s in history.shrinks] == [4]
    assert int(model.optimizer.iterations) == 2 * STEPS_PER_EPOCH
    assert history.epoch == [0, 1]


def test_nothing_dead_means_one_fit_and_no_plan(rng, monkeypatch):
    plans = []
    monkeypatch.setattr(removal, "make_plan", lambda *a, **k: plans.append(a))
    model = _model()
    fits = []
    original = model.fit
    model.fit = lambda *a, **k: fits.append(k["epochs"]) or original(*a, **k)
    returned, history = ns.fit_with_shrinking(model, *_data(rng), epochs=3,
                                              shrink_every_steps=2, **FIT)
    assert returned is model and history.shrinks == []
    assert fits == [3] and plans == []


def test_dead_counts_agree_with_the_selection(rng):
    for factory in model_zoo.FACTORIES:
        model = model_zoo.kill_units(factory(), 0.4, rng)
        for layer in model.layers:
            status = layer_status(layer)
            if status is not None:
                assert dead_counts(layer)[0] == status.dead.sum(), (factory.__name__, layer.name)
    dense = keras.layers.Dense(4)
    dense.build((None, 5))
    kernel = rng.normal(size=(5, 4)).astype("float32")
    kernel[:, 2] = 1e-4
    kernel[[1, 3]] = 0.0  # inputs 1 and 3 unused (zero outgoing groups)
    # unit 2: incoming norm sqrt(3) * 1e-4 = 1.7e-4
    dense.kernel.assign(kernel)
    assert dead_counts(dense) == (0, 2)
    assert dead_counts(dense, tol=3e-4) == (1, 2)


def test_rest_of_epoch_for_each_kind_of_data():
    import tensorflow as tf

    x = np.arange(20, dtype="float32").reshape(10, 2)
    y = np.arange(10)
    weights = np.linspace(0, 1, 10)
    part_x, part_y, kwargs = resume.rest_of_epoch(
        x, y, {"batch_size": 4, "shuffle": False, "sample_weight": weights}, done=1)
    np.testing.assert_array_equal(part_x, x[4:])
    np.testing.assert_array_equal(part_y, y[4:])
    np.testing.assert_array_equal(kwargs["sample_weight"], weights[4:])
    _, _, kwargs = resume.rest_of_epoch({"a": x}, y, {"batch_size": 4}, done=1)
    assert kwargs["steps_per_epoch"] == 2  # 3 batches, a fresh shuffle, the last 2 of them
    _, _, kwargs = resume.rest_of_epoch(x, y, {"steps_per_epoch": 7}, done=3)
    assert kwargs["steps_per_epoch"] == 4
    dataset = tf.data.Dataset.range(5)
    rest, _, _ = resume.rest_of_epoch(dataset, None, {}, done=2)
    assert list(rest.as_numpy_iterator()) == [2, 3, 4]


def test_validation_split_is_taken_once_as_keras_takes_it():
    x = np.arange(20, dtype="float32").reshape(10, 2)
    y = np.arange(10)
    train_x, train_y, kwargs = resume.split_validation(x, y, {"validation_split": 0.25})
    np.testing.assert_array_equal(train_x, x[:7])  # floor(10 * 0.75)
    np.testing.assert_array_equal(kwargs["validation_data"][1], y[7:])
    assert "validation_split" not in kwargs and train_y.shape == (7,)


def test_step_points_refuse_data_they_cannot_resume(rng):
    def batches():
        while True:
            yield _data(rng)

    with pytest.raises(ValueError, match=exactly(
            "fit_with_shrinking: expected arrays, tensors or a tf.data.Dataset (or any data "
            "with `steps_per_epoch`) when `shrink_every_steps` is set, so that an epoch can go "
            "on after a removal. Received: x of type generator. How to fix: pass arrays or a "
            "tf.data.Dataset, pass steps_per_epoch, or remove at epoch ends only "
            "(shrink_every_steps=None).")):
        ns.fit_with_shrinking(_model(), batches(), epochs=1, shrink_every_steps=2)
