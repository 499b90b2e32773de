"""Shrinking while training: exact removal keeps the training trajectory, state carries over."""

import keras
import numpy as np
import pytest

import tf_neuronselect as ns
from tests.helpers.errors import exactly
from tf_neuronselect.training import NeuronHistory
from tf_neuronselect.training.transfer import slot_lists

DEAD = np.arange(3)  # hidden units with zero incoming weights and bias: exactly dead
KEEP = np.arange(3, 8)


def _model(optimizer, gate=True):
    keras.utils.set_random_seed(7)
    inputs = keras.Input((6,))
    x = keras.layers.Dense(8, activation="relu", name="hidden")(inputs)
    if gate:
        x = ns.Gate(name="gate")(x)
    model = keras.Model(inputs, keras.layers.Dense(3, name="head")(x))
    hidden = model.get_layer("hidden")
    kernel = hidden.kernel.numpy()
    kernel[:, DEAD] = 0.0  # relu'(0) = 0: no gradient ever reaches these units again
    hidden.kernel.assign(kernel)
    model.compile(optimizer, keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def _data(rng):
    x = rng.normal(size=(96, 6)).astype("float32")
    return x, (x[:, 0] > 0).astype("int32") + (x[:, 1] > 1).astype("int32")


OPTIMIZERS = {
    "sgd_momentum_schedule": lambda: keras.optimizers.SGD(
        keras.optimizers.schedules.ExponentialDecay(0.1, 5, 0.7), momentum=0.9),
    "adam": lambda: keras.optimizers.Adam(0.01),
    "proximal_sgd": lambda: ns.ProximalSGD(0.05, momentum=0.9),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_removal_mid_training_gives_the_same_weights(rng, name):
    x, y = _data(rng)
    fit = {"batch_size": 16, "shuffle": False, "verbose": 0}
    reference = _model(OPTIMIZERS[name]())
    reference.fit(x, y, epochs=4, **fit)
    model, history = ns.fit_with_shrinking(_model(OPTIMIZERS[name]()), x, y, epochs=4,
                                           shrink_every=2, shrink_at_end=False, **fit)
    assert [s["epoch"] for s in history.shrinks] == [2]
    assert history.shrinks[0]["units"]["hidden"] == (8, 5)
    assert history.epoch == [0, 1, 2, 3] and len(history.history["loss"]) == 4
    assert int(model.optimizer.iterations) == int(reference.optimizer.iterations) == 24
    assert isinstance(model.get_layer("gate"), ns.Gate)  # gates stay: selection goes on
    expected = {
        "hidden": [reference.get_layer("hidden").kernel.numpy()[:, KEEP],
                   reference.get_layer("hidden").bias.numpy()[KEEP]],
        "gate": [reference.get_layer("gate").theta.numpy()[KEEP]],
        "head": [reference.get_layer("head").kernel.numpy()[KEEP],
                 reference.get_layer("head").bias.numpy()],
    }
    for layer, arrays in expected.items():
        for want, got in zip(arrays, model.get_layer(layer).get_weights()):
            np.testing.assert_allclose(got, want, atol=2e-6, err_msg=f"{name}: {layer}")


@pytest.mark.parametrize("name", ["sgd_momentum_schedule", "adam"])
def test_optimizer_slots_are_sliced_like_the_weights(rng, name):
    x, y = _data(rng)
    model = _model(OPTIMIZERS[name]())
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    new, plan = ns.shrink_for_training(model)
    assert plan.layers["hidden"].keep_out.tolist() == KEEP.tolist()
    old_slots, new_slots = slot_lists(model.optimizer), slot_lists(new.optimizer)
    assert set(old_slots) == set(new_slots) and old_slots
    old_index, new_index = model.optimizer._get_variable_index, new.optimizer._get_variable_index
    pairs = [("hidden", "kernel", np.s_[:, KEEP]), ("hidden", "bias", np.s_[KEEP]),
             ("gate", "theta", np.s_[KEEP]), ("head", "kernel", np.s_[KEEP]),
             ("head", "bias", np.s_[:])]
    for attribute in old_slots:
        for layer, weight, kept in pairs:
            old = old_slots[attribute][old_index(getattr(model.get_layer(layer), weight))]
            fresh = new_slots[attribute][new_index(getattr(new.get_layer(layer), weight))]
            assert np.any(old.numpy() != 0)  # a real state, not zeros on both sides
            np.testing.assert_array_equal(fresh.numpy(), old.numpy()[kept])
    assert int(new.optimizer.iterations) == int(model.optimizer.iterations)


def test_penalties_stay_and_proximal_training_continues(rng):
    x, y = _data(rng)
    model = _model(ns.ProximalSGD(0.05, momentum=0.9), gate=False)
    ns.add_penalty(model, ns.GroupLasso(0.02), layers=["hidden"])
    model.compile(ns.ProximalSGD(0.05, momentum=0.9),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    new, _ = ns.shrink_for_training(model)
    penalty = new.get_layer("hidden").kernel.regularizer
    assert isinstance(penalty, ns.GroupLasso) and penalty.strength == pytest.approx(0.02)
    assert penalty.handled_proximally  # the new ProximalSGD took it over before tracing
    before = new.get_layer("hidden").get_weights()
    new.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert not np.allclose(new.get_layer("hidden").kernel.numpy(), before[0])


def test_nothing_dead_means_no_rebuild(rng):
    model = _model(keras.optimizers.SGD(0.1))
    model.get_layer("hidden").kernel.assign(np.ones((6, 8), "float32"))
    same, plan = ns.shrink_for_training(model)
    assert same is model and plan.params_after == plan.params_before


def test_shrink_keep_training_layers_keeps_gates_and_outputs(rng):
    model = _model(keras.optimizers.SGD(0.1))
    model.get_layer("gate").theta.assign(np.linspace(0.5, 2.0, 8).astype("float32"))
    x, _ = _data(rng)
    kept = ns.shrink(model, keep_training_layers=True)
    folded = ns.shrink(model)
    assert isinstance(kept.get_layer("gate"), ns.Gate)
    assert kept.get_layer("gate").theta.shape == (5,)
    assert not any(isinstance(layer, ns.Gate) for layer in folded.layers)
    np.testing.assert_allclose(kept.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-5)


def test_callbacks_follow_the_new_model_and_track_sizes(rng, tmp_path):
    x, y = _data(rng)

    class SeenModels(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.widths = []

        def on_epoch_end(self, epoch, logs=None):
            self.widths.append(self.model.get_layer("hidden").units)

    seen, tracker = SeenModels(), NeuronHistory()
    model = _model(keras.optimizers.SGD(0.05, momentum=0.9))
    _, history = ns.fit_with_shrinking(model, x, y, epochs=3, shrink_every=1, batch_size=16,
                                       shuffle=False, verbose=0, callbacks=[seen, tracker])
    assert seen.widths == [8, 5, 5]
    # alive: hidden 5 + gate 8 (dead units keep theta = 1 until removed) + head 3, then 5 + 5 + 3
    assert history.history["units"] == [16, 13, 13]
    assert [size["params"] for _, size in tracker.sizes] == [5 * 7 + 6 * 3] * 3
    assert history.history["params"][0] == tracker.sizes[0][1]["params"]
    assert tracker.sizes[0][1]["macs"] == 6 * 5 + 5 * 3
    assert tracker.history[-1][0] == 18  # steps keep counting across chunks
    path = tracker.plot(tmp_path / "units.png")
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_fit_with_shrinking_validates_its_arguments(rng):
    model = _model(keras.optimizers.SGD(0.1))
    with pytest.raises(ValueError, match=exactly(
            "fit_with_shrinking: expected `shrink_every` to be a positive int (epochs between "
            "removals). Received: shrink_every=0. How to fix: pass e.g. shrink_every=1; to "
            "remove every N steps, pass shrink_every_steps=N.")):
        ns.fit_with_shrinking(model, *_data(rng), shrink_every=0)
    inputs = keras.Input((6,))
    bare = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    # An uncompiled model: Keras' own refusal reaches the caller unchanged.
    with pytest.raises(ValueError, match=exactly(
            "You must call `compile()` before using the model.")):
        ns.fit_with_shrinking(bare, *_data(rng), epochs=1, verbose=0)


class _Hooks(keras.callbacks.Callback):
    """Records the train-level hooks and the model each epoch ran on."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append("begin")

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append((epoch, self.model.get_layer("hidden").units))

    def on_train_end(self, logs=None):
        self.calls.append(("end", self.model.get_layer("hidden").units, sorted(logs)))


def test_callbacks_see_one_run_across_removals(rng):
    hooks = _Hooks()
    model, _ = ns.fit_with_shrinking(_model(keras.optimizers.SGD(0.05)), *_data(rng), epochs=3,
                                     shrink_every=1, batch_size=16, verbose=0,
                                     callbacks=[hooks])
    assert model.get_layer("hidden").units == 5
    assert hooks.calls == ["begin", (0, 8), (1, 5), (2, 5),
                           ("end", 5, ["accuracy", "loss"])]


def test_early_stopping_patience_carries_across_removals(rng):
    # min_delta no epoch can reach: the run stops after patience + 1 epochs, not per chunk.
    stopper = keras.callbacks.EarlyStopping("loss", min_delta=1e6, patience=2)
    _, history = ns.fit_with_shrinking(_model(keras.optimizers.SGD(0.05)), *_data(rng),
                                       epochs=8, shrink_every=1, batch_size=16, verbose=0,
                                       callbacks=[stopper])
    assert history.epoch == [0, 1, 2]
    assert stopper.stopped_epoch == 2


def test_restoring_early_stopping_is_refused(rng):
    stopper = keras.callbacks.EarlyStopping("loss", restore_best_weights=True)
    with pytest.raises(ValueError, match=r"Received: EarlyStopping\(restore_best_weights=True\)"):
        ns.fit_with_shrinking(_model(keras.optimizers.SGD(0.05)), *_data(rng), epochs=2,
                              verbose=0, callbacks=[stopper])


def test_tensorboard_steps_continue_across_removals(rng, tmp_path):
    import tensorflow as tf

    board = keras.callbacks.TensorBoard(tmp_path, update_freq=1, write_graph=False)
    ns.fit_with_shrinking(_model(keras.optimizers.SGD(0.05)), *_data(rng), epochs=2,
                          shrink_every=1, batch_size=16, verbose=0, callbacks=[board])
    steps = set()
    for path in (tmp_path / "train").glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                if value.tag == "batch_loss":
                    steps.add(event.step)
    assert steps == set(range(1, 13))  # 6 batches per epoch, numbered on across the removal
