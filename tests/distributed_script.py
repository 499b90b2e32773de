"""Trains one model on one device and under MirroredStrategy on two logical CPUs; prints JSON.

Run as a separate process by test_distributed.py (``python -m tests.distributed_script sgd``
from the repository root): logical devices must be configured before
TensorFlow initialises, which a pytest process has already done.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402

import tf_neuronselect as ns  # noqa: E402,F401
from tests.helpers.dist_model import build  # noqa: E402


def train(optimizer_name, strategy=None):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 12)).astype("float32")
    y = (x[:, 0] - x[:, 1] > 0).astype("int32")
    if strategy is None:
        model = build(optimizer_name)
    else:
        with strategy.scope():
            model = build(optimizer_name)
    model.fit(x, y, batch_size=32, epochs=4, shuffle=False, verbose=0)
    return model


def replicas_identical(model):
    for variable in model.weights:
        values = getattr(variable.value, "values", None)
        if values and not all(np.array_equal(values[0].numpy(), v.numpy()) for v in values[1:]):
            return False
    return True


def main(optimizer_name):
    single = train(optimizer_name)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    mirrored = train(optimizer_name, strategy)
    diffs = [float(np.max(np.abs(a - b))) for a, b in
             zip(single.get_weights(), mirrored.get_weights())]
    zero_units = int(np.sum(np.all(mirrored.layers[1].kernel.numpy() == 0.0, axis=0)))
    print(json.dumps({
        "replicas": strategy.num_replicas_in_sync,
        "max_weight_diff": max(diffs),
        "replicas_identical": replicas_identical(mirrored),
        "zero_units_mirrored": zero_units,
        "zero_units_single": int(np.sum(np.all(single.layers[1].kernel.numpy() == 0.0, axis=0))),
    }))


if __name__ == "__main__":
    main(sys.argv[1])
