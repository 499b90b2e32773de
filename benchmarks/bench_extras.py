"""Two small figures from the source papers.

1. Sparse linear regression (DropNeuron, Pan et al. 2016, section 3.1): y = X w + noise with a
   sparse w (2 of 20 features), fitted by a linear 20-10-1 network. Dropout + L2 keeps a fully
   connected network; DropNeuron's li/lo + L1 (ProximalAdam) should keep one hidden unit and only
   the true input features. Figure: effective input weights W1 @ W2 of each fit vs the truth.
2. Neuron-count convergence (ShrinkNets, Leclerc et al. 2018): a 784-2000-10 MLP with a Gate
   + L1 after its hidden layer, several lambdas, alive units recorded with
   ``tf_neuronselect.NeuronHistory`` every 50 steps. Figure: units vs training step.

Writes results/extras.json, results/extras.md, results/extras_sparse_regression.png and
results/extras_convergence.png.

    python benchmarks/bench_extras.py [--quick]
"""

import argparse
import os
import pathlib
import sys
import time

if not __package__:  # run as a file, not with -m: import the package from the repo root
    sys.path[0] = str(pathlib.Path(__file__).resolve().parent.parent)

from benchmarks import _common, report, resultfiles  # noqa: E402
SEED = 0
DROPNEURON = {"li": 0.3, "lo": 0.3, "l1": 0.05}


log = _common.log


def regression_data(rng, n_features=20, support=(2, 9), n=1000, noise=0.01):
    import numpy as np

    x = rng.normal(size=(n, n_features))
    x /= np.linalg.norm(x, axis=1, keepdims=True)  # rows on the unit sphere (as in the paper)
    x *= np.sqrt(n_features)
    w = np.zeros(n_features)
    w[list(support)] = rng.uniform(1.0, 2.0, size=len(support)) * rng.choice([-1, 1], len(support))
    y = x @ w + noise * rng.normal(size=n)
    half = n // 2
    return (x[:half].astype("float32"), y[:half].astype("float32"),
            x[half:].astype("float32"), y[half:].astype("float32"), w)


def fit_regression(kind, data, epochs, hidden=10):
    import keras
    import numpy as np

    import tf_neuronselect as ns

    x_train, y_train, x_test, y_test, _ = data
    keras.utils.set_random_seed(SEED)
    inputs = keras.Input((x_train.shape[1],))
    if kind == "dropout + L2":
        h = keras.layers.Dropout(0.5)(inputs)
        h = keras.layers.Dense(hidden, kernel_regularizer=keras.regularizers.L2(1e-4),
                               name="hidden")(h)
        h = keras.layers.Dropout(0.5)(h)
        out = keras.layers.Dense(1, kernel_regularizer=keras.regularizers.L2(1e-4),
                                 name="out")(h)
        optimizer = keras.optimizers.Adam(1e-3)
    else:
        h = keras.layers.Dense(hidden, kernel_regularizer=ns.DropNeuron(**DROPNEURON),
                               name="hidden")(inputs)
        out = keras.layers.Dense(1, kernel_regularizer=ns.DropNeuron(**DROPNEURON),
                                 name="out")(h)
        steps = epochs * int(np.ceil(len(x_train) / 16))
        optimizer = ns.ProximalSGD(
            keras.optimizers.schedules.CosineDecay(0.005, steps, alpha=0.01), momentum=0.9)
    model = keras.Model(inputs, out)
    model.compile(optimizer, "mse")
    model.fit(x_train, y_train, batch_size=16, epochs=epochs, verbose=0)
    if kind != "dropout + L2":
        model = ns.shrink(model)
    prediction = model.predict(x_test, verbose=0)[:, 0]
    nmse = float(np.sum((prediction - y_test) ** 2) / np.sum(y_test ** 2))
    w1 = model.get_layer("hidden").kernel.numpy()
    w2 = model.get_layer("out").kernel.numpy()
    effective = np.zeros(x_train.shape[1])
    kept_inputs = _kept_inputs(model, x_train.shape[1], w1)
    product = (w1 @ w2)[:, 0]
    if w1.shape[0] == x_train.shape[1]:  # inputs still all there (zero rows = unused)
        effective = product
    else:
        effective[kept_inputs] = product
    return {"method": kind, "nmse": nmse, "hidden_kept": int(w1.shape[1]),
            "inputs_kept": int(len(kept_inputs)), "effective_weights": effective.tolist()}


def _kept_inputs(model, n_features, w1):
    """Indices of the input features the (possibly shrunk) model still reads."""
    import numpy as np

    if w1.shape[0] == n_features:
        return np.flatnonzero(np.abs(w1).sum(axis=1) > 0)
    # ns.shrink removed input features: the model now starts with a gather of kept columns.
    for layer in model.layers:
        for attr in ("indices", "keep", "kept"):
            if hasattr(layer, attr):
                return np.asarray(getattr(layer, attr))
    return np.arange(w1.shape[0])


def sparse_regression(quick):
    import numpy as np

    rng = np.random.default_rng(SEED)
    data = regression_data(rng)
    true_w = data[-1]
    epochs = 5 if quick else 60
    results = []
    for kind in ("dropout + L2", "DropNeuron li/lo + L1"):
        log(f"  sparse regression: {kind}, {epochs} epochs")
        fit = fit_regression(kind, data, epochs)
        found = set(np.flatnonzero(np.abs(fit["effective_weights"]) > 1e-3).tolist())
        fit["support_recovered"] = found == set(np.flatnonzero(true_w).tolist())
        log(f"    NMSE {fit['nmse']:.2e}, hidden units kept {fit['hidden_kept']}, "
            f"support recovered {fit['support_recovered']}")
        results.append(fit)
    return {
        "setup": f"20 features, nonzero {np.flatnonzero(true_w).tolist()}, 500 train / 500 "
                 f"test, noise 0.01, linear 20-10-1 network, batch 16, {epochs} epochs; "
                 "dropout 0.5 + L2 1e-4 with Adam 1e-3 vs DropNeuron(li=lo=0.3, l1=0.05) on both "
                 "kernels with ProximalSGD (cosine 0.005, momentum 0.9) then ns.shrink",
        "true_weights": true_w.tolist(), "true_support": np.flatnonzero(true_w).tolist(),
        "epochs": epochs, "methods": results,
    }


def convergence(quick):
    import keras
    import numpy as np

    import tf_neuronselect as ns
    from benchmarks.mnist.training import load_data

    data = load_data(quick)
    width, epochs = (2000, 1) if quick else (2000, 8)
    lambdas = (5e-2,) if quick else (2e-2, 5e-2, 1e-1)
    runs = []
    for l1 in lambdas:
        keras.utils.set_random_seed(SEED)
        inputs = keras.Input(data.input_shape)
        x = keras.layers.Flatten()(inputs)
        x = keras.layers.Dense(width, activation="relu", name="hidden")(x)
        x = ns.Gate(l1=l1, name="gate")(x)
        model = keras.Model(inputs, keras.layers.Dense(10, name="logits")(x))
        steps = epochs * int(np.ceil(len(data.x_train) / 128))
        schedule = keras.optimizers.schedules.CosineDecay(0.05, steps, alpha=0.01)
        model.compile(ns.ProximalSGD(schedule, momentum=0.9),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        tracker = ns.NeuronHistory(every_n_steps=10 if quick else 50)
        start = time.perf_counter()
        model.fit(data.x_train, data.y_train, batch_size=128, epochs=epochs, verbose=0,
                  callbacks=[tracker])
        seconds = time.perf_counter() - start
        step_list, layers = tracker.per_layer()
        units = layers["gate"]
        per_epoch = [units[step_list.index(s)] for s in step_list
                     if s % int(np.ceil(len(data.x_train) / 128)) == 0 or s == step_list[-1]]
        logits = model.predict(data.x_test, batch_size=1000, verbose=0)
        error = 100.0 * float(np.mean(np.argmax(logits, -1) != data.y_test))
        log(f"  convergence: gate l1 {l1:g}: units {units[0]} -> {units[-1]}, error {error:.2f}% "
            f"({seconds:.0f}s)")
        runs.append({"l1": l1, "steps": step_list, "units_trace": units, "units": per_epoch,
                     "error_pct": round(error, 3), "seconds": round(seconds, 1)})
    return {
        "setup": f"784-{width}-10 MLP, Gate(l1) after the hidden layer, ProximalSGD cosine 0.05, "
                 f"momentum 0.9, batch 128, {epochs} epochs on {len(data.x_train)} MNIST images; "
                 "units recorded every "
                 f"{10 if quick else 50} steps", "width": width, "epochs": epochs, "runs": runs,
    }


def plots(payload, quick):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    reg = payload["sparse_regression"]
    figure, ax = plt.subplots(figsize=(7, 3.6))
    n = len(reg["true_weights"])
    offsets = np.linspace(-0.3, 0.3, len(reg["methods"]) + 1)
    ax.bar(np.arange(n) + offsets[0], reg["true_weights"], width=0.25, label="true w")
    for offset, fit in zip(offsets[1:], reg["methods"]):
        ax.bar(np.arange(n) + offset, fit["effective_weights"], width=0.25,
               label=f"{fit['method']} (NMSE {fit['nmse']:.1e}, {fit['hidden_kept']} hidden)")
    ax.set_xlabel("input feature")
    ax.set_ylabel("effective weight W1 @ W2")
    ax.set_title("Sparse linear regression (DropNeuron 3.1)")
    ax.legend(fontsize=7)
    resultfiles.save_figure(figure, resultfiles.result_path("extras_sparse_regression.png", quick))
    plt.close(figure)

    conv = payload["convergence"]
    figure, ax = plt.subplots(figsize=(7, 3.6))
    for run in conv["runs"]:
        ax.plot(run["steps"], run["units_trace"],
                label=f"gate l1 {run['l1']:g} (final {run['units_trace'][-1]}, "
                      f"{run['error_pct']:.2f}% error)")
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("alive hidden units")
    ax.set_title(f"Neuron count over training, {conv['width']}-unit hidden layer (ShrinkNets)")
    ax.legend(fontsize=7)
    resultfiles.save_figure(figure, resultfiles.result_path("extras_convergence.png", quick))
    plt.close(figure)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few epochs, one lambda")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    start = time.perf_counter()
    log("[1/2] sparse linear regression")
    payload = {"seed": SEED, "quick": args.quick, "sparse_regression": sparse_regression(args.quick)}
    log("[2/2] neuron-count convergence")
    payload["convergence"] = convergence(args.quick)
    payload["seconds_total"] = round(time.perf_counter() - start, 1)
    path = resultfiles.write_result("extras", payload, args.quick)
    resultfiles.write_text(resultfiles.result_path("extras.md", args.quick),
                           report.extras_markdown(payload) + "\n")
    plots(payload, args.quick)
    log(f"wrote {path} and the two PNGs ({payload['seconds_total']:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
