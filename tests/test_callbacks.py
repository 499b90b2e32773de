import keras
import numpy as np
import pytest

import tf_neuronselect as ns
from tf_neuronselect.training import NeuronHistory
from tf_neuronselect.utils.steps import StepCounter


# steps_per_execution=3 on 4 steps per epoch: Keras calls the batch hooks after steps 3 and
# (a short execution) 4, so counting calls instead of steps would record the wrong steps.
@pytest.mark.parametrize("steps_per_execution", [1, 3])
def test_neuron_history_tracks_units_in_logs_and_history(rng, steps_per_execution):
    inputs = keras.Input((10,))
    x = keras.layers.Dense(24, activation="relu", kernel_regularizer=ns.GroupLasso(0.3),
                           name="hidden")(inputs)
    x = ns.Gate(l1=0.2, name="gate")(x)
    model = keras.Model(inputs, keras.layers.Dense(2, name="head")(x))
    model.compile(ns.ProximalSGD(0.1, momentum=0.9), "sparse_categorical_crossentropy",
                  steps_per_execution=steps_per_execution)
    tracker = NeuronHistory(every_n_steps=4)
    x_data = rng.normal(size=(128, 10)).astype("float32")
    history = model.fit(x_data, (x_data[:, 0] > 0).astype("int32"), epochs=4, batch_size=32,
                        verbose=0, callbacks=[tracker])
    steps, per_layer = tracker.per_layer()
    assert steps[0] == 0 and steps[-1] == 16 and len(steps) == 5
    assert per_layer["hidden"][0] == 24 and per_layer["gate"][0] == 24
    assert per_layer["hidden"][-1] < 24  # the penalty killed units while training
    final = {"hidden": per_layer["hidden"][-1], "gate": per_layer["gate"][-1],
             "head": per_layer["head"][-1]}
    assert history.history["units"][-1] == sum(final.values())
    kernel = model.get_layer("hidden").kernel.numpy()
    assert final["hidden"] == int(np.sum(np.any(kernel != 0, axis=0)))


def test_neuron_history_scalars_reach_tensorboard(rng, tmp_path):
    import tensorflow as tf

    inputs = keras.Input((10,))
    x = keras.layers.Dense(12, activation="relu", kernel_regularizer=ns.GroupLasso(0.3),
                           name="hidden")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2, name="head")(x))
    model.compile(ns.ProximalSGD(0.1), "sparse_categorical_crossentropy")
    x_data = rng.normal(size=(64, 10)).astype("float32")
    tracker = NeuronHistory()
    board = keras.callbacks.TensorBoard(tmp_path, write_graph=False)
    history = model.fit(x_data, (x_data[:, 0] > 0).astype("int32"), epochs=2, batch_size=32,
                        verbose=0, callbacks=[tracker, board])
    logged = {}
    for path in (tmp_path / "train").glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                number = float(tf.make_ndarray(value.tensor))
                logged.setdefault(value.tag, []).append((event.step, number))
    for tag in ("units", "params", "macs"):
        assert logged[f"epoch_{tag}"] == [(0, history.history[tag][0]),
                                          (1, history.history[tag][1])]


def test_step_counter_counts_steps_not_hook_calls():
    counter = StepCounter()
    seen = []
    for _ in range(2):  # 2 epochs of 10 steps, executions of 4 (the last one is short)
        counter.begin_epoch()
        for last_batch in (3, 7, 11):
            crossed_5 = counter.end_batch(last_batch, steps_per_epoch=10, every_n=5)
            seen.append((counter.total, crossed_5))
    assert seen == [(4, False), (8, True), (10, True), (14, False), (18, True), (20, True)]
    assert counter.end_batch(0) is False  # no every_n: never a multiple
