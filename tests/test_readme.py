"""The README's quickstart code runs as printed (on small random data)."""

import pathlib
import re

import numpy as np

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


def _quickstart_code():
    section = README.read_text().split("## Quickstart", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_quickstart_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    namespace = {"x_train": rng.normal(size=(512, 784)).astype("float32"),
                 "y_train": rng.integers(0, 10, size=512)}
    code = _quickstart_code().replace("epochs=8", "epochs=1, verbose=0")
    training, after = code.split("print(ns.report(model))", 1)
    exec(compile(training, "README quickstart", "exec"), namespace)
    # One epoch on random data kills no unit, so kill 100 of the first layer's 300 and 40 of
    # the second's 100 the way the proximal step does (incoming weights and bias exactly 0).
    model = namespace["model"]
    for layer, dead in zip(model.layers[1:3], (100, 40)):
        kernel, bias = layer.get_weights()
        kernel[:, :dead], bias[:dead] = 0.0, 0.0
        layer.set_weights([kernel, bias])
    exec(compile("print(ns.report(model))" + after, "README quickstart", "exec"), namespace)
    compact = namespace["compact"]
    assert compact.count_params() == (784 * 200 + 200) + (200 * 60 + 60) + (60 * 10 + 10)
    x = namespace["x_train"][:32]
    np.testing.assert_allclose(compact.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-4)
    assert (tmp_path / "out" / "manifest.json").is_file()
    assert (tmp_path / "out" / "model_float16.tflite").is_file()
    assert "total params" in capsys.readouterr().out


def test_readme_budget_snippet_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    namespace = {"x_train": rng.normal(size=(256, 784)).astype("float32"),
                 "y_train": rng.integers(0, 10, size=256)}
    setup = _quickstart_code().split("model.fit(", 1)[0]  # imports, model, penalty, compile
    exec(compile(setup, "README quickstart", "exec"), namespace)
    section = README.read_text().split("## Budgets instead of strengths", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    code = code.replace("epochs=10", "epochs=2, verbose=0")
    exec(compile(code, "README budgets", "exec"), namespace)
    budget = namespace["budget"]
    # Two updates, the last one measuring the model shrink would give.
    assert len(budget.log) == 2
    assert budget.log[-1][2] == namespace["ns"].shrink(namespace["model"]).count_params()


def test_readme_trained_model_snippet_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    namespace = {"x_train": rng.normal(size=(256, 784)).astype("float32"),
                 "y_train": rng.integers(0, 10, size=256)}
    setup = _quickstart_code().split("model.fit(", 1)[0]
    exec(compile(setup, "README quickstart", "exec"), namespace)
    namespace["model"].fit(namespace["x_train"], namespace["y_train"], epochs=1, verbose=0)
    section = README.read_text().split("## A model you already trained", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    exec(compile(code.replace("epochs=5", "epochs=2, verbose=0"), "README prune", "exec"),
         namespace)
    dense = namespace["model"].count_params()
    for compact in (namespace["pruned"], namespace["compact"]):
        assert 0.09 * dense <= compact.count_params() <= 0.11 * dense
    assert namespace["record"].method in ("prune", "penalty")
    assert namespace["model"].count_params() == dense  # the original is left alone


def test_readme_shrinking_snippet_runs(monkeypatch):
    rng = np.random.default_rng(0)
    namespace = {"x_train": rng.normal(size=(256, 784)).astype("float32"),
                 "y_train": rng.integers(0, 10, size=256)}
    exec("import keras\nimport tf_neuronselect as ns", namespace)
    section = README.read_text().split("## Removing units while training", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    # A narrower layer and two epochs; with k = 667 the gates at l1 = 2e-4 lose 0.0067 per
    # step, so close them the way training would, in the first epoch.
    code = code.replace("10_000", "64").replace("epochs=10", "epochs=2, verbose=0")
    code = code.replace("shrink_every_steps=25", "shrink_every_steps=2, callbacks=[close]")

    class Close(namespace["keras"].callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            gate = self.model.layers[2]
            if gate.theta.shape == (64,):
                gate.theta.assign(np.where(np.arange(64) < 40, -1.0, 1.0).astype("float32"))

    namespace["close"] = Close()
    exec(compile(code, "README shrinking", "exec"), namespace)
    shrink = namespace["history"].shrinks[0]
    assert shrink["step"] == 2 and shrink["units"]["dense"][0] == 64
    assert shrink["units"]["dense"][1] <= 24  # the 40 closed ones and any the L1 closed


def test_readme_adaptive_prox_snippet_runs():
    import textwrap

    import keras

    rng = np.random.default_rng(0)
    x_in = keras.Input((28, 28))
    model = keras.Model(x_in, keras.layers.Dense(10)(keras.layers.LSTM(8)(x_in)))
    namespace = {"x_train": rng.normal(size=(200, 28, 28)).astype("float32"),
                 "y_train": rng.integers(0, 10, size=200), "model": model}
    exec("import keras\nimport tf_neuronselect as ns", namespace)
    section = README.read_text().split("- **Training with a penalty.**", 1)[1]
    code = textwrap.dedent(re.search(r"```python\n(.*?)  ```", section, re.S).group(1))
    exec(compile(code.replace("epochs=5", "epochs=1, verbose=0"), "README adaptive prox",
                 "exec"), namespace)
    optimizer = model.optimizer
    assert optimizer.adaptive_prox and optimizer.prox_warmup_steps == 2  # 200 images / 128
    assert model.get_layer(index=1).cell.kernel.regularizer is not None
    x = namespace["x_train"][:16]
    np.testing.assert_allclose(namespace["compact"].predict(x, verbose=0),
                               model.predict(x, verbose=0), atol=1e-5)
