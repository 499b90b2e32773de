"""One run of bench_sequence.py: build the ViT or the LSTM, attach a unit-group penalty (heads,
MLP neurons, LSTM units), train, shrink, measure (error, parameters, MACs, what is left), export
the float32 TFLite file and compare it with Keras."""

import os
import time

import numpy as np

from benchmarks import tflite_runs
from benchmarks.tflite_runs import epoch_line, error_pct, export_tflite
from benchmarks.sequence import config, models


def load_data(quick, train_images=None):
    """MNIST from ``tf_neuronselect.datasets`` (``NEURONSELECT_DATA``), images (N, 28, 28, 1);
    ``quick`` or ``train_images``: a fixed random subset of the training images (``quick``
    also of the test images)."""
    from tf_neuronselect import datasets

    data = datasets.load("mnist")
    rng = np.random.default_rng(config.SEED)
    limit = config.QUICK_TRAIN if quick else train_images
    if limit:
        keep = rng.permutation(len(data.x_train))[:limit]
        data.x_train, data.y_train = data.x_train[keep], data.y_train[keep]
    if quick:
        keep = rng.permutation(len(data.x_test))[:config.QUICK_TEST]
        data.x_test, data.y_test = data.x_test[keep], data.y_test[keep]
    data.x_train = data.x_train.astype("float32")
    data.x_test = data.x_test.astype("float32")
    return data


def inputs(study, images):
    """The network's input: the images as they are (ViT) or their 28 rows of 28 pixels
    (LSTM)."""
    return images if study == "vit" else images.reshape(len(images), 28, 28)


def attach(model, arm, strength):
    """``(model, names)``: the model to train with the arm's penalty over every unit group
    (attention heads, MLP neurons, LSTM units), or ShrinkNets gates on every head and MLP
    neuron (``adaptive-gates``: a gated copy), or gates of L1 MIXED_GATE_L1 on the MLP neurons
    and a group lasso of ``strength`` on the heads (``adaptive-mixed``), and the layers it
    covers."""
    import keras
    import tf_neuronselect as ns

    if arm == "dense":
        return model, []
    if arm == "adaptive-gates":
        gated, gates = ns.add_gates(model, l1=strength, heads=True)
        return gated, sorted(gates)
    if arm == "adaptive-mixed":  # gates on the MLP neurons, a group lasso on the heads
        gated, gates = ns.add_gates(model, l1=config.MIXED_GATE_L1)
        attentions = [layer.name for layer in gated.layers
                      if isinstance(layer, keras.layers.MultiHeadAttention)]
        heads = ns.add_penalty(gated, ns.GroupLasso(strength),
                               layers=attentions, over="unit_groups")
        return gated, sorted(set(gates) | set(heads))
    penalty = {"group-lasso": lambda: ns.GroupLasso(strength),
               "adaptive-group-lasso": lambda: ns.GroupLasso(strength),
               "adaptive-budget": lambda: ns.GroupLasso(config.BUDGET_START_STRENGTH),
               "sparse-group-lasso": lambda: ns.SparseGroupLasso(strength, alpha=config.ALPHA)}
    if arm not in penalty:
        raise ValueError(f"unknown arm {arm!r}; expected dense, adaptive-gates or one of "
                         f"{list(penalty)}")
    return model, ns.add_penalty(model, penalty[arm](), over="unit_groups")


def optimizer(arm, steps, epochs):
    """Adam, cosine-decayed to 1% over the run; ProximalAdam for the penalized arms (the unit-group
    penalty has no loss term: only its prox acts); for the adaptive arms its prox in Adam's
    metric, ramped in over the first PROX_WARMUP_EPOCHS of ``epochs``."""
    import keras
    import tf_neuronselect as ns

    schedule = keras.optimizers.schedules.CosineDecay(config.LEARNING_RATE, steps, alpha=0.01)
    if arm == "dense":
        return keras.optimizers.Adam(schedule)
    adaptive = arm.startswith("adaptive-")
    warmup = int(steps * config.PROX_WARMUP_EPOCHS / epochs) if adaptive else 0
    return ns.ProximalAdam(schedule, adaptive_prox=adaptive, prox_warmup_steps=warmup)


def train(study, arm, strength, data, epochs):
    """The trained model of one run, the layers its penalty covers and its training seconds."""
    import keras
    import tf_neuronselect as ns

    keras.backend.clear_session()
    keras.utils.set_random_seed(config.SEED)
    model = models.BUILDERS[study]()
    model, penalized = attach(model, arm, strength)
    steps = epochs * -(-len(data.x_train) // config.BATCH)
    model.compile(optimizer(arm, steps, epochs),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  steps_per_execution=config.STEPS_PER_EXECUTION)
    label = f"{study} {arm} {strength:g}"
    start = time.perf_counter()
    callbacks = [epoch_line(label, epochs)]
    if arm == "adaptive-budget":  # the strength is the share of the MACs to end at
        callbacks.append(ns.SizeBudget(macs=int(strength * ns.count_macs(model)),
                                       every_n_steps=max(1, steps // epochs // 4)))
    model.fit(inputs(study, data.x_train), data.y_train, batch_size=config.BATCH, epochs=epochs,
              verbose=0, callbacks=callbacks)
    return model, penalized, time.perf_counter() - start


def finetune(compact, study, data, epochs):
    """Penalty-free fine-tuning of a shrunk model (plain Adam: the unit-group penalty has no loss
    term, so without its proximal optimizer it does nothing); returns its seconds."""
    import keras

    if not epochs:
        return 0.0
    steps = epochs * -(-len(data.x_train) // config.BATCH)
    schedule = keras.optimizers.schedules.CosineDecay(config.FINETUNE_LR, steps, alpha=0.01)
    compact.compile(keras.optimizers.Adam(schedule),
                    keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                    steps_per_execution=config.STEPS_PER_EXECUTION)
    start = time.perf_counter()
    compact.fit(inputs(study, data.x_train), data.y_train, batch_size=config.BATCH,
                epochs=epochs, verbose=0, callbacks=[epoch_line(f"{study} fine-tune", epochs)])
    return time.perf_counter() - start


def tflite_difference(model, tflite_path, x):
    """``(max |TFLite - Keras|, max |Keras|)`` over the images ``x``, one at a time (batch 1,
    as the recurrent file is converted)."""
    from tf_neuronselect.exporting import litert

    interpreter = litert.load_interpreter(tflite_path)
    got = np.concatenate([litert.run_tflite(interpreter, x[i:i + 1])[0] for i in range(len(x))])
    expected = model.predict(x, batch_size=500, verbose=0)
    return float(np.max(np.abs(got - expected))), float(np.max(np.abs(expected)))


def run(study, arm, strength, data, epochs, directory, finetune_epochs=0, dense=None,
        method=config.COMPRESS_METHOD):
    """Trains one run; returns its row (``tflite_path``: its compact float32 TFLite file; the
    dense run exports the trained model as it is, the reference every run is timed against;
    the penalized runs' shrunk models are fine-tuned ``finetune_epochs`` first) and its
    compact model. The compress arms start from ``dense`` (the study's trained dense model):
    ``ns.compress(dense, macs=strength, epochs=finetune_epochs, method=method)``."""
    import tf_neuronselect as ns

    x_test = inputs(study, data.x_test)
    if arm in ("compress", "compress-penalty"):
        compact, row = compressed(study, strength, data, dense, finetune_epochs, method)
    elif arm == "dense-long":  # the dense recipe for ``epochs`` (its strength, the same number)
        compact, row = trained_and_shrunk(study, "dense", 0.0, data, epochs, 0)
    else:
        compact, row = trained_and_shrunk(study, arm, strength, data, epochs, finetune_epochs)
    tflite = export_tflite(compact, os.path.join(directory, f"{study}_{arm}_{strength:g}"))
    difference, largest = tflite_difference(compact, tflite, x_test[:config.TFLITE_CHECK_IMAGES])
    row.update({"study": study, "arm": arm, "strength": strength,
                "structure": models.STRUCTURES[study](compact),
                "tflite_max_abs_diff": difference, "tflite_max_abs_output": largest,
                "params": int(compact.count_params()), "macs": int(ns.count_macs(compact)),
                "tflite_bytes": os.path.getsize(tflite), "tflite_path": tflite})
    return row, compact


def trained_and_shrunk(study, arm, strength, data, epochs, finetune_epochs):
    """A dense or penalized run: trained, shrunk, the shrunk model fine-tuned."""
    import tf_neuronselect as ns

    model, penalized, train_seconds = train(study, arm, strength, data, epochs)
    x_test = inputs(study, data.x_test)
    trained_error, trained_logits = error_pct(model, x_test, data.y_test)
    start = time.perf_counter()
    compact = model if arm == "dense" else ns.shrink(model)
    shrink_seconds = time.perf_counter() - start
    shrunk_error, shrunk_logits = error_pct(compact, x_test, data.y_test)
    finetune_epochs = 0 if arm == "dense" else finetune_epochs
    finetune_seconds = finetune(compact, study, data, finetune_epochs)
    finetuned_error = error_pct(compact, x_test, data.y_test)[0] if finetune_epochs else None
    return compact, {
        "epochs": epochs, "penalized_layers": penalized, "finetune_epochs": finetune_epochs,
        "error_pct": {"trained": trained_error, "shrunk": shrunk_error,
                      "finetuned": finetuned_error},
        "max_abs_logit_diff": float(np.max(np.abs(trained_logits - shrunk_logits))),
        "max_abs_logit": float(np.max(np.abs(trained_logits))),
        "trained_params": int(model.count_params()),
        "train_seconds": round(train_seconds, 1), "shrink_seconds": round(shrink_seconds, 2),
        "finetune_seconds": round(finetune_seconds, 1)}


def compressed(study, share, data, dense, epochs, method):
    """``ns.compress`` of the trained dense model to ``share`` of its MACs in ``epochs``
    with ``method`` (``config.COMPRESS_DISTILL``)."""
    import keras
    import tf_neuronselect as ns

    keras.utils.set_random_seed(config.SEED)
    x_test = inputs(study, data.x_test)
    start = time.perf_counter()
    compact, record = ns.compress(dense, (inputs(study, data.x_train), data.y_train),
                                  macs=share, epochs=epochs, method=method,
                                  distill=config.COMPRESS_DISTILL, batch_size=config.BATCH,
                                  verbose=0)
    return compact, {
        "epochs": 0, "penalized_layers": [], "finetune_epochs": epochs,
        "method": record.method, "distill": config.COMPRESS_DISTILL, "phases": record.phases,
        "error_pct": {"trained": error_pct(dense, x_test, data.y_test)[0], "shrunk": None,
                      "finetuned": error_pct(compact, x_test, data.y_test)[0]},
        "trained_params": int(dense.count_params()), "train_seconds": 0.0,
        "shrink_seconds": 0.0, "finetune_seconds": round(time.perf_counter() - start, 1)}


def latency(dense_tflite, tflite, quick=False):
    """Batch-1 speedup of ``tflite`` against the dense file (``tflite_runs.latency``)."""
    rounds, iterations = ((5, 50) if quick else
                          (config.LATENCY_ROUNDS, config.LATENCY_ITERATIONS))
    return tflite_runs.latency(dense_tflite, tflite, rounds, iterations)
