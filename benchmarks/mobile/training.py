"""One run of bench_mobile.py: build MobileNetV3Small, attach an arm's penalty or gates, train,
shrink, measure (error, parameters, MACs) and export the float32 TFLite file."""

import os
import time

import numpy as np

from benchmarks import tflite_runs
from benchmarks.tflite_runs import epoch_line, error_pct, export_tflite
from benchmarks.mobile import config
from benchmarks.mobile.report import ARM_LABELS


def load_data(quick):
    """MNIST from ``tf_neuronselect.datasets`` (``NEURONSELECT_DATA``), padded with zeros from
    28x28 to 32x32; ``quick``: a fixed random subset."""
    from tf_neuronselect import datasets

    data = datasets.load("mnist")
    if quick:
        rng = np.random.default_rng(config.SEED)
        train = rng.permutation(len(data.x_train))[:config.QUICK_TRAIN]
        test = rng.permutation(len(data.x_test))[:config.QUICK_TEST]
        data.x_train, data.y_train = data.x_train[train], data.y_train[train]
        data.x_test, data.y_test = data.x_test[test], data.y_test[test]
    margin = (config.SIDE - data.x_train.shape[1]) // 2
    pad = ((0, 0), (margin, margin), (margin, margin), (0, 0))
    data.x_train = np.pad(data.x_train, pad).astype("float32")
    data.x_test = np.pad(data.x_test, pad).astype("float32")
    return data


def build():
    """The benchmark's MobileNetV3Small (logits out), every BatchNorm at BN_MOMENTUM."""
    import keras

    model = keras.applications.MobileNetV3Small(
        weights=None, input_shape=(config.SIDE, config.SIDE, 1), classes=10,
        include_preprocessing=False, classifier_activation=None, alpha=config.ALPHA)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = config.BN_MOMENTUM
    return model


def kernel_layers(model):
    """The layers (a) penalizes: every convolution but the classifier ("Logits"), whose units
    are the classes."""
    import keras

    kinds = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.Dense)
    return [layer.name for layer in model.layers
            if isinstance(layer, kinds) and layer.name != "Logits"]


def attach(model, arm, strength):
    """The model to train for ``arm``: the same model with its penalty attached, or a gated
    copy (gates)."""
    import tf_neuronselect as ns

    if arm == "kernels":
        ns.add_penalty(model, ns.GroupLasso(strength), layers=kernel_layers(model),
                       over="kernels")
    elif arm == "unit-groups":
        ns.add_penalty(model, ns.GroupLasso(strength), over="unit_groups")
    elif arm == "gates":
        model, _ = ns.add_gates(model, l1=strength)
    elif arm != "dense":
        raise ValueError(f"unknown arm {arm!r}; expected one of {list(ARM_LABELS)}")
    return model


def optimizer(arm, steps):
    """SGD with momentum, cosine-decayed; the proximal variant for every arm but dense."""
    import keras
    import tf_neuronselect as ns

    schedule = keras.optimizers.schedules.CosineDecay(config.LEARNING_RATE, steps, alpha=0.01)
    kind = keras.optimizers.SGD if arm == "dense" else ns.ProximalSGD
    return kind(schedule, momentum=config.MOMENTUM)


def train(arm, strength, data, epochs):
    """The trained model of one run and its training seconds."""
    import keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(config.SEED)
    model = attach(build(), arm, strength)
    steps = epochs * -(-len(data.x_train) // config.BATCH)
    model.compile(optimizer(arm, steps),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  steps_per_execution=config.STEPS_PER_EXECUTION)
    start = time.perf_counter()
    model.fit(data.x_train, data.y_train, batch_size=config.BATCH, epochs=epochs, verbose=0,
              callbacks=[epoch_line(f"{arm} {strength:g}", epochs)])
    return model, time.perf_counter() - start


def run(arm, strength, data, epochs, directory):
    """Trains one run and returns its row (``tflite_path``: its compact float32 TFLite file;
    the dense run exports the trained model as it is, the reference every run is timed
    against)."""
    import tf_neuronselect as ns

    model, train_seconds = train(arm, strength, data, epochs)
    trained_error, trained_logits = error_pct(model, data.x_test, data.y_test)
    start = time.perf_counter()
    compact = model if arm == "dense" else ns.shrink(model)
    shrink_seconds = time.perf_counter() - start
    shrunk_error, shrunk_logits = error_pct(compact, data.x_test, data.y_test)
    tflite = export_tflite(compact, os.path.join(directory, f"{arm}_{strength:g}"))
    return {"arm": arm, "strength": strength, "epochs": epochs,
            "error_pct": {"trained": trained_error, "shrunk": shrunk_error},
            "max_abs_logit_diff": float(np.max(np.abs(trained_logits - shrunk_logits))),
            "max_abs_logit": float(np.max(np.abs(trained_logits))),
            "params": int(compact.count_params()), "macs": int(ns.count_macs(compact)),
            "trained_params": int(model.count_params()),
            "tflite_bytes": os.path.getsize(tflite), "tflite_path": tflite,
            "train_seconds": round(train_seconds, 1), "shrink_seconds": round(shrink_seconds, 2)}


def latency(dense_tflite, tflite, quick=False):
    """Batch-1 speedup of ``tflite`` against the dense file (``tflite_runs.latency``)."""
    rounds, iterations = ((5, 50) if quick else
                          (config.LATENCY_ROUNDS, config.LATENCY_ITERATIONS))
    return tflite_runs.latency(dense_tflite, tflite, rounds, iterations)
