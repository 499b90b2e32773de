"""One worker of a two-worker MultiWorkerMirroredStrategy run on 127.0.0.1.

Started twice by test_multiworker.py, each time with its own ``TF_CONFIG`` (same cluster, task
index 0 or 1). Every worker trains the same models (GroupLasso + Gate + DropNeuron +
TriStateReLU, with ProximalSGD and with ProximalAdam) under the strategy and writes its final
weights to ``<out>/worker<i>.npz``; worker 0 then trains the same models on one device, outside
the strategy, and writes ``<out>/single.npz`` for the comparison.

Usage (from the repository root): TF_CONFIG=... python -m tests.multiworker_script OUT_DIR
"""

import json
import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

# The strategy must exist before any other TensorFlow op runs: it starts this worker's server.
strategy = tf.distribute.MultiWorkerMirroredStrategy(
    communication_options=tf.distribute.experimental.CommunicationOptions(
        implementation=tf.distribute.experimental.CommunicationImplementation.RING))

import keras  # noqa: E402
import numpy as np  # noqa: E402

import tf_neuronselect as ns  # noqa: E402,F401
from tests.helpers.dist_model import build  # noqa: E402


def patch_keras_multiworker_reduce(strategy):
    """Works around two Keras 3 bugs (keras-team/keras#20585, present in Keras 3.15) that stop
    ``model.fit`` under MultiWorkerMirroredStrategy:

    1. before the first step, ``fit`` calls ``strategy.reduce("MEAN", batch)`` on the whole
       (x, y) structure, which cannot become one tensor; that batch only serves to build the
       model symbolically, so each leaf is replaced by this worker's local value;
    2. the per-step logs (the scalar loss) are reduced with ``axis=0``, which a scalar does not
       have; they are averaged over the replicas instead (``axis=None``).
    """
    reduce = strategy.reduce

    def patched(reduce_op, value, axis=None):
        if isinstance(value, (tuple, list, dict)):
            return tf.nest.map_structure(
                lambda v: strategy.experimental_local_results(v)[0], value)
        local = strategy.experimental_local_results(value)[0]
        if axis is not None and getattr(local, "shape", None) is not None \
                and local.shape.rank == 0:
            axis = None
        return reduce(reduce_op, value, axis)

    strategy.reduce = patched
    return strategy


patch_keras_multiworker_reduce(strategy)
keras.config.disable_traceback_filtering()

OPTIMIZERS = ("sgd", "adam")
GLOBAL_BATCH = 32
EPOCHS = 3


def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 12)).astype("float32")
    y = (x[:, 0] - x[:, 1] > 0).astype("int32")
    return x, y


def train(optimizer_name, distributed):
    x, y = data()
    if distributed:
        with strategy.scope():
            model = build(optimizer_name)
    else:
        model = build(optimizer_name)
    model.fit(x, y, batch_size=GLOBAL_BATCH, epochs=EPOCHS, shuffle=False, verbose=0)
    return model


def main(out_dir):
    out = pathlib.Path(out_dir)
    task = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    arrays = {}
    for name in OPTIMIZERS:
        model = train(name, distributed=True)
        arrays.update({f"{name}/{i}": w for i, w in enumerate(model.get_weights())})
        arrays[f"{name}/iterations"] = np.asarray(int(model.optimizer.iterations.numpy()))
    arrays["replicas"] = np.asarray(strategy.num_replicas_in_sync)
    np.savez(out / f"worker{task}.npz", **arrays)
    if task == 0:
        single = {}
        for name in OPTIMIZERS:
            model = train(name, distributed=False)
            single.update({f"{name}/{i}": w for i, w in enumerate(model.get_weights())})
        np.savez(out / "single.npz", **single)
    print(json.dumps({"task": task, "replicas": strategy.num_replicas_in_sync}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
