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
    exec(compile(code, "README quickstart", "exec"), namespace)
    assert namespace["compact"].count_params() <= namespace["model"].count_params()
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
    assert len(budget.log) == 2 and budget.log[-1][2] == namespace["ns"].make_plan(
        namespace["model"]).params_after
