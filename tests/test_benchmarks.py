"""`make bench-quick` end to end: every benchmark script runs and writes well-formed results.

Checks the structure of the JSON / markdown / PNG files, not the numbers (the quick run trains
for one epoch on a 3k-image subset). Needs the MNIST file beside the project (as `make bench`
does); skipped without it.
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
MNIST_DIRS = [os.environ.get("NEURONSELECT_DATA"), str(ROOT.parent / "shared" / "data")]


def _mnist_dir():
    for candidate in MNIST_DIRS:
        if not candidate:
            continue
        path = pathlib.Path(candidate)
        if (path / "mnist.npz").is_file() or (path.suffix == ".npz" and path.is_file()):
            return str(path)
    return None


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory):
    data = _mnist_dir()
    if data is None:
        pytest.skip("MNIST not available (set NEURONSELECT_DATA)")
    out = tmp_path_factory.mktemp("bench_quick")
    env = dict(os.environ, NEURONSELECT_DATA=data, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(
        [sys.executable, str(BENCH / "run_all.py"), "--quick", "--no-install",
         "--results-dir", str(out)],
        env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return out, result.stdout


def _load(out, name):
    path = out / f"{name}.json"
    assert path.is_file(), f"missing {path}"
    return json.loads(path.read_text())


def test_run_all_writes_every_file(quick_results):
    out, stdout = quick_results
    for name in ("mnist.json", "mnist.md", "mnist_pareto.png", "tfmot.json", "tfmot.md",
                 "extras.json", "extras.md", "extras_sparse_regression.png",
                 "extras_convergence.png", "run_all.json", "RESULTS.md"):
        assert (out / name).is_file(), f"missing {name}"
    assert not list(out.glob("*.tmp*")), "temporary files left behind"
    assert "[1/3]" in stdout and "bench_mnist.py" in stdout  # progress lines
    summary = _load(out, "run_all")
    assert summary["quick"] is True
    assert [s["script"] for s in summary["steps"]] == [
        "bench_mnist.py", "bench_tfmot.py", "bench_extras.py"]
    assert all(s["status"] == "ok" for s in summary["steps"])


def test_mnist_json_structure(quick_results):
    out, _ = quick_results
    payload = _load(out, "mnist")
    assert payload["settings"]["quick"] is True and payload["settings"]["seed"] == 0
    assert "environment" in payload and "targets" in payload
    methods = {(r["arch"], r["method"]) for r in payload["runs"]}
    for arch in ("lenet5", "mlp"):
        for method in ("dense", "l2-dropout", "uniform", "group-lasso", "sparse-group-lasso",
                       "li-lo", "gate", "tri-state"):
            assert (arch, method) in methods
    for row in payload["runs"]:
        assert set(row["error_pct"]) == {"trained", "shrunk", "finetuned"}
        assert row["params"] > 0 and row["macs"] > 0 and row["tflite_bytes"] > 0
        assert len(row["units"].split("-")) == (4 if row["arch"] == "lenet5" else 3)
        if row["method"] != "dense":
            assert set(row["latency"]) == {"batch1", "batch64"}
            assert row["latency"]["batch1"]["ratio"] > 0
            assert row["compression"] > 0
        if row["method"] == "uniform":
            assert row["matched_to"]["params"] > 0


def test_markdown_tables(quick_results):
    out, _ = quick_results
    text = (out / "RESULTS.md").read_text()
    assert "### LeNet-5-Caffe" in text and "### LeNet-300-100" in text
    assert "| method (strength) | error % trained |" in text
    assert "TFMOT" in text and "Sparse linear regression" in text
    assert "Targets:" in text


def test_tfmot_and_extras_structure(quick_results):
    out, _ = quick_results
    tfmot = _load(out, "tfmot")
    if not tfmot.get("skipped"):
        for row in tfmot["runs"]:
            assert row["method"] == "tfmot" and 0 < row["sparsity"] <= 1
            assert set(row["tflite_bytes"]) == {"dense", "pruned"}
            assert set(row["latency"]) == {"batch1", "batch64"}
    extras = _load(out, "extras")
    assert len(extras["sparse_regression"]["methods"]) == 2
    assert extras["convergence"]["runs"][0]["units_trace"][0] == extras["convergence"]["width"]
