"""The dense networks and the five ways to compress them (``config.PATHS``).

Every path gets the same trained network, the same target (``1 / level`` of its parameters)
and the same epoch budget; the hand-made paths fine-tune as issue 20 did (``fine_tune``).
TensorFlow is imported inside the functions: the worker processes are spawned.
"""

import os
import time

from benchmarks.compress import config
from benchmarks.mnist import training
from benchmarks.mnist.config import BATCH, STEPS_PER_EXECUTION


def _steps_per_epoch(data):
    return -(-len(data.x_train) // BATCH)


def dense_model(arch, seed, data, epochs, work):
    """The dense ``arch`` trained ``epochs`` epochs from ``seed`` with bench_mnist's recipe
    (compiled as it was trained), and ``{"error_pct", "seconds", "cached"}``. The weights are
    kept in ``work`` and reused by the later tasks (and reruns) of the same seed and epochs."""
    import keras

    from tf_neuronselect.examples import recipes

    keras.utils.set_random_seed(seed)
    model = recipes.build(arch, "dense", data.input_shape, data.num_classes)
    path = work / f"dense_{arch}_seed{seed}_e{epochs}.weights.h5"
    cached = path.is_file()
    if cached:  # before compiling: the file holds no optimizer state
        model.load_weights(str(path))
    training.compile_model(model, "dense", epochs, _steps_per_epoch(data))
    if cached:
        return model, {"seconds": 0.0, "cached": True,
                       "error_pct": training.error_pct(model, data.x_test, data.y_test)}
    start = time.perf_counter()
    model.fit(data.x_train, data.y_train, batch_size=BATCH, epochs=epochs, verbose=0)
    seconds = time.perf_counter() - start
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"tmp{os.getpid()}_{path.name}")  # Keras wants the .weights.h5 end
    model.save_weights(str(tmp))
    os.replace(tmp, path)
    return model, {"seconds": round(seconds, 1), "cached": False,
                   "error_pct": training.error_pct(model, data.x_test, data.y_test)}


def fine_tune(model, data, epochs):
    """Issue 20's fine-tuning: SGD with momentum 0.9, cosine from ``FINETUNE_LR`` to 1% of it,
    batch 128, on the compact model (compiled here)."""
    import keras

    schedule = keras.optimizers.schedules.CosineDecay(
        config.FINETUNE_LR, max(1, epochs * _steps_per_epoch(data)), alpha=0.01)
    model.compile(keras.optimizers.SGD(schedule, momentum=0.9),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], steps_per_execution=STEPS_PER_EXECUTION)
    model.fit(data.x_train, data.y_train, batch_size=BATCH, epochs=epochs, verbose=0)
    return model


def _sample(data):
    return data.x_train[:config.DATA_SAMPLES], data.y_train[:config.DATA_SAMPLES]


def one_shot(model, data, level, epochs, importance):
    """``ns.prune`` once (Taylor with bias compensation from a sample), then ``fine_tune``;
    the test error right after pruning goes in the info."""
    import tf_neuronselect as ns

    extra = {} if importance == "l2" else {"data": _sample(data)}
    compact = ns.prune(model, params=1 / level, importance=importance,
                       max_layer_fraction=config.MAX_LAYER_FRACTION, **extra)
    info = {"error_after_prune_pct": training.error_pct(compact, data.x_test, data.y_test)}
    return fine_tune(compact, data, epochs), info


def iterative(model, data, level, epochs):
    """One Taylor prune step per epoch (sizes shrinking geometrically to the target, bias
    compensation on), each followed by an epoch of ``fine_tune``."""
    import tf_neuronselect as ns

    start = model.count_params()
    for step in range(1, epochs + 1):
        goal = int(round(start * (1 / level) ** (step / epochs)))
        model = ns.prune(model, params=goal, importance="taylor", data=_sample(data),
                         max_layer_fraction=config.MAX_LAYER_FRACTION)
        model = fine_tune(model, data, 1)
    return model, {"steps": epochs}


def compressed(model, data, level, epochs, method):
    """``ns.compress`` with ``method``; the record's recipe and phases go in the info."""
    import tf_neuronselect as ns

    compact, record = ns.compress(model, (data.x_train, data.y_train), params=1 / level,
                                  epochs=epochs, method=method, verbose=0)
    return compact, {"method": record.method, "phases": record.phases}


def run_path(path, model, data, level, epochs):
    """The compact, fine-tuned model of ``path`` (see ``config.PATHS``) and its info."""
    if path in ("l2", "taylor"):
        return one_shot(model, data, level, epochs, path)
    if path == "iterative":
        return iterative(model, data, level, epochs)
    return compressed(model, data, level, epochs, "auto" if path == "compress" else path)
