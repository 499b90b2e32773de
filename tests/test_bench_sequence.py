"""bench_sequence.py's plan, verdicts, tables and README lines on made-up payloads (the quick
run's files are checked in tests/test_benchmarks.py)."""

import copy
import json
import pathlib
import subprocess
import sys

import pytest

from benchmarks import bench_sequence, readme_results
from benchmarks.sequence import report

SETTINGS = {"matched_points": 0.3, "target_speedup": 2.0, "tflite_tolerance": 1e-5,
            "epochs": {"vit": 5, "lstm": 4}, "finetune_epochs": {"vit": 1, "lstm": 2},
            "finetune_lr": 1e-3, "batch": 128, "learning_rate": 1e-3, "seed": 0,
            "train_images": 60000, "test_images": 10000, "tflite_check_images": 200,
            "vit": {"patch": 7, "blocks": 4, "width": 64, "heads": 4, "mlp": 128},
            "lstm_units": 128}


def _run(study, strength, error, structure, params, speedup, diff, output):
    """A made-up row; a penalized run's shrunk model is 0.5 points worse than after its
    fine-tuning (``error``)."""
    shrunk = error if strength == 0 else error + 0.5
    return {"study": study, "arm": "dense" if strength == 0 else "group-lasso",
            "strength": strength, "error_pct": {"trained": shrunk - 0.01, "shrunk": shrunk,
                                                "finetuned": None if strength == 0 else error},
            "structure": structure, "params": params, "macs": 20 * params,
            "tflite_bytes": 4 * params, "latency": {"speedup": speedup} if speedup else None,
            "tflite_max_abs_diff": diff, "tflite_max_abs_output": output}


def _vit(heads, mlp):
    return {"heads": heads, "mlp": mlp}


def _payload():
    runs = [_run("vit", 0.0, 2.0, _vit([4] * 4, [128] * 4), 137866, None, 4e-6, 8.0),
            _run("vit", 0.1, 2.1, _vit([4, 3, 2, 2], [90, 60, 40, 30]), 90000, 1.5, 2e-6, 5.0),
            _run("vit", 0.2, 2.3, _vit([3, 2, 1, 1], [50, 30, 20, 10]), 50000, 2.4, 3.6e-6, 6.0),
            _run("vit", 0.4, 2.31, _vit([2, 1, 1, 0], [20, 9, 5, 1]), 20000, 3.5, 1e-6, 4.0),
            _run("lstm", 0.0, 1.2, {"units": [128]}, 81674, None, 1e-6, 0.5),
            _run("lstm", 0.1, 1.6, {"units": [60]}, 20000, 2.8, 2e-5, 4.0),
            _run("lstm", 0.2, 2.5, {"units": [30]}, 6000, 4.0, 8e-5, 2.0)]
    return {"settings": copy.deepcopy(SETTINGS), "environment": {"cpus": 2},
            "load_average": {"training": 1.5, "timing": 0.5}, "runs": runs}


def test_verdicts_judge_the_run_with_the_fewest_macs_within_the_matched_error():
    payload = _payload()  # ViT: dense 2.00% + 0.3: 2.30% is in, 2.31% out
    assert report.matched_run(payload, "vit")["strength"] == 0.2
    assert report.verdicts(payload, "vit") == [
        "- exported (shrunk, fine-tuned) model's test error within 0.3 points of the dense "
        "2.00%: MET (group-lasso 0.2: 2.30%, heads 3-2-1-1, MLP neurons 50-30-20-10)",
        "- compact TFLite of that run >= 2x faster than the dense one at batch 1: MET "
        "(group-lasso 0.2: 2.40x)",
        "- TFLite output within 1e-05 x max(1, max |Keras output|) of Keras on every run: MET "
        "(largest 6.0e-07, group-lasso 0.2)",
        "- penalty from scratch (no trained model) within 0.3 points of the dense 2.00%: MET "
        "(group-lasso 0.2: 2.30%, heads 3-2-1-1, MLP neurons 50-30-20-10, 36% of the MACs); "
        ">= 2x at batch 1: MET (2.40x)"]
    assert report.matched_run(payload, "lstm") is None
    assert report.verdicts(payload, "lstm") == [
        "- exported (shrunk, fine-tuned) model's test error within 0.3 points of the dense "
        "1.20%: MISSED (closest: group-lasso 0.1: 1.60%, LSTM units 60)",
        "- compact TFLite of that run >= 2x faster than the dense one at batch 1: UNDECIDED "
        "(no timed run within the matched error)",
        "- TFLite output within 1e-05 x max(1, max |Keras output|) of Keras on every run: "
        "MISSED (largest 4.0e-05, group-lasso 0.2)",
        "- penalty from scratch (no trained model) within 0.3 points of the dense 1.20%: "
        "MISSED (closest: group-lasso 0.1: 1.60%, LSTM units 60)"]


def test_a_run_that_removed_nothing_does_not_match():
    payload = _payload()
    unchanged = _run("vit", 0.05, 1.9, _vit([4] * 4, [128] * 4), 137866, 1.0, 1e-6, 8.0)
    payload["runs"] = [payload["runs"][0], unchanged] + payload["runs"][4:]
    assert report.matched_run(payload, "vit") is None  # 1.90% is the dense net, fine-tuned
    assert report.verdicts(payload, "vit")[0].endswith(
        "MISSED (no penalized run removed a unit)")
    payload["runs"].append(_run("vit", 0.2, 2.3, _vit([3, 2, 1, 1], [50, 30, 20, 10]), 50000,
                                2.4, 3.6e-6, 6.0))
    assert report.matched_run(payload, "vit")["strength"] == 0.2


def test_verdicts_without_penalized_or_timed_runs_are_undecided():
    payload = _payload()
    payload["runs"][2]["latency"] = None  # trained, not timed yet
    assert report.verdicts(payload, "vit")[1].endswith(
        "UNDECIDED (no timed run within the matched error)")
    payload["runs"][2]["latency"] = {"speedup": 1.99}
    assert report.verdicts(payload, "vit")[1].endswith("MISSED (group-lasso 0.2: 1.99x)")
    payload["runs"] = [r for r in payload["runs"] if r["arm"] == "dense"]
    assert [line.rsplit(": ", 1)[1] for line in report.verdicts(payload, "lstm")[:2]] == [
        "UNDECIDED (no penalized run)", "UNDECIDED (no timed run within the matched error)"]
    payload["runs"] = payload["runs"][1:]  # no dense ViT run: the study is left out
    assert report.studies(payload) == ["lstm"]
    assert "### ViT" not in report.sequence_markdown(payload)


def test_markdown_lists_every_run_and_marks_the_matched_one():
    text = report.sequence_markdown(_payload())
    lines = text.splitlines()
    assert lines[0] == ("## Sequence models on MNIST: attention heads, MLP neurons and LSTM "
                        "units")
    assert lines.index("### ViT on 7x7 patches") < lines.index("### LSTM over the rows")
    assert ("| arm | strength | error % trained / shrunk / fine-tuned | heads per block | MLP neurons per "
            "block | parameters | kept | MACs | TFLite bytes | speedup batch 1 | TFLite - Keras "
            "| matched |") in lines
    assert ("| dense (Adam) | - | 1.99 / 2.00 / - | 4-4-4-4 | 128-128-128-128 | 137,866 | 1.000 | "
            "2,757,320 | 551,464 | 1.00x | 5e-07 |  |") in lines
    assert ("| group lasso per unit group | 0.2 | 2.79 / 2.80 / 2.30 | 3-2-1-1 | 50-30-20-10 | 50,000 "
            "| 0.363 | 1,000,000 | 200,000 | 2.40x | 6e-07 | yes |") in lines
    assert ("| group lasso per unit group | 0.1 | 2.09 / 2.10 / 1.60 | 60 | 20,000 | 0.245 | 400,000 "
            "| 80,000 | 2.80x | 5e-06 |  |") in lines
    assert lines[-1] == (
        "Load average of the 2-core machine (other jobs shared it): 1.5 at the start of "
        "training, 0.5 when the TFLite files were timed (LiteRT, one thread, interleaved rounds: "
        "the speedups are ratios within one timing).")


def test_readme_lines_show_each_studys_dense_and_matched_runs():
    lines = report.readme_lines(_payload())
    assert lines[0] == (
        "Sequence models on MNIST (`benchmarks/bench_sequence.py`, `make bench-extra`; every run "
        "in [benchmarks/results/sequence.md](benchmarks/results/sequence.md)):")
    assert lines[2] == (
        "- **ViT on 7x7 patches**: ViT on 7x7 patches (16 tokens, a sinusoidal position code), "
        "4 pre-norm blocks of width 64, 4 heads, MLP 128 (gelu); MNIST (60,000 training / "
        "10,000 test images), 5 epoch(s), batch 128, Adam with cosine-decayed learning rate "
        "0.001 (ProximalAdam with the penalty over every unit group for the other arms, whose "
        "shrunk models are then fine-tuned 1 epoch(s) without it, Adam from 0.001), seed 0. "
        "Matched error: the run with the fewest MACs among those that removed units and are "
        "within 0.3 points of the dense test error (2.00% + 0.3). A width of 0: every head (or "
        "MLP neuron) of that block's branch was dead, so `shrink` dropped the branch and adds "
        "its constant output instead. TFLite - Keras: max |difference| / max(1, max |Keras "
        "output|) over 200 test images, batch 1.")
    assert [line.split(" | ")[1] for line in lines[6:8]] == ["-", "0.2"]
    lstm = lines.index(next(line for line in lines if line.startswith("- **LSTM")))
    assert "LSTM(128) reading the 28 rows as 28 steps, then a Dense head; MNIST" in lines[lstm]
    assert "4 epoch(s)" in lines[lstm] and "fine-tuned 2 epoch(s)" in lines[lstm]
    assert lines[lstm + 4].startswith("| dense (Adam) | - | 1.19 / 1.20 / - | 128 | 81,674 |")
    assert lines[lstm + 6:lstm + 8] == ["No penalized run at matched error.", ""]
    assert lines[lstm + 8].startswith("- exported (shrunk, fine-tuned) model's test error within "
                                      "0.3 points of the dense 1.20%")
    assert lines[-2].startswith("- Load average of the 2-core machine")
    payload = _payload()
    payload["settings"]["finetune_epochs"]["vit"] = 0  # --quick
    assert "for the other arms, their shrunk models not fine-tuned), seed 0." in (
        report.setup_text(payload, "vit"))


def test_readme_results_carry_the_sequence_section_only_when_it_has_results(monkeypatch,
                                                                           tmp_path):
    monkeypatch.setattr(readme_results, "RESULTS", tmp_path)
    assert "Sequence models" not in readme_results.render()
    (tmp_path / "sequence.json").write_text(json.dumps(_payload()))
    lines = readme_results.render().splitlines()
    first = lines.index(report.readme_lines(_payload())[0])
    assert lines[first - 1] == "" and lines[first:] == report.readme_lines(_payload())[:-1]


def test_runs_start_with_each_studys_dense_reference():
    args = bench_sequence.parse_args(["--runs", "lstm:group-lasso:0.1", "vit:group-lasso:1e-2"])
    assert bench_sequence.plan(args) == [
        ("vit", "dense", 0.0), ("vit", "group-lasso", 0.01), ("lstm", "dense", 0.0),
        ("lstm", "group-lasso", 0.1)]
    assert args.epochs == bench_sequence.config.EPOCHS
    lstm_only = bench_sequence.parse_args(["--runs", "lstm:adaptive-group-lasso:5e-4",
                                           "--prox-warmup-epochs", "0"])
    assert bench_sequence.plan(lstm_only) == [("lstm", "dense", 0.0),
                                              ("lstm", "adaptive-group-lasso", 5e-4)]
    assert lstm_only.prox_warmup_epochs == 0.0
    assert args.finetune_epochs == bench_sequence.config.FINETUNE_EPOCHS
    only = bench_sequence.parse_args(["--studies", "lstm", "--epochs", "2"])
    assert [run[0] for run in bench_sequence.plan(only)] == ["lstm"] * (
        2 + sum(len(s) for _, s in bench_sequence.config.PENALTY_RUNS["lstm"]) + len(
            bench_sequence.config.COMPRESS["lstm"]) + len(
            bench_sequence.config.COMPRESS_PENALTY["lstm"]))
    # The dense model trained as long as the compress runs: 2 + their epochs.
    assert bench_sequence.plan(only)[1] == (
        "lstm", "dense-long", 2.0 + bench_sequence.config.COMPRESS_EPOCHS["lstm"])
    assert [run[1] for run in bench_sequence.plan(only)[-2:]] == ["compress", "compress-penalty"]
    assert only.epochs == {"vit": 2, "lstm": 2}
    quick = bench_sequence.parse_args(["--quick"])
    assert quick.finetune_epochs == {"vit": 0, "lstm": 0}
    assert quick.epochs == {"vit": 1, "lstm": 1} and [run[:2] for run in bench_sequence.plan(
        quick)] == [("vit", "dense"), ("vit", "dense-long"), ("vit", "group-lasso"),
                    ("vit", "compress"), ("lstm", "dense"), ("lstm", "dense-long"),
                    ("lstm", "group-lasso"), ("lstm", "compress")]
    assert quick.compress_epochs == {"vit": 1, "lstm": 1}


@pytest.mark.parametrize("text, message", [
    ("gru:group-lasso:1", "STUDY one of vit, lstm and ARM one of group-lasso, "
                          "sparse-group-lasso, adaptive-group-lasso, adaptive-gates, adaptive-mixed, "
                          "adaptive-budget, compress, compress-penalty. "
                          "Received: "
                          "'gru:group-lasso:1'"),
    ("vit:dense:0", "Received: 'vit:dense:0'"),
    ("vit:group-lasso:strong", "expected a number after the arm")])
def test_runs_name_a_study_an_arm_and_a_strength(text, message):
    with pytest.raises(SystemExit, match=message.replace("|", r"\|")):
        bench_sequence.parse_run(text)


def test_the_script_runs_as_a_file_from_anywhere(tmp_path):
    script = pathlib.Path(bench_sequence.__file__)
    result = subprocess.run([sys.executable, str(script), "--help"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage:") and "--studies" in result.stdout


def _compress_row(method):
    """An LSTM compress run: 1.40% after compress, from a dense model at 1.20%."""
    row = _run("lstm", 0.3, 1.4, {"units": [60]}, 20000, 2.2, 1e-6, 4.0)
    row.update(arm="compress", method=method,
               error_pct={"trained": 1.2, "shrunk": None, "finetuned": 1.4})
    return row


def test_a_compress_run_counts_by_its_final_error_and_says_how_it_trained():
    payload = _payload()
    payload["settings"]["compress_epochs"] = {"vit": 3, "lstm": 3}
    row = _compress_row("penalty")
    payload["runs"].append(row)
    assert report.matched_run(payload, "lstm") is row  # 1.40% <= 1.20% + 0.3
    assert report.errors_text(row) == "1.20 / - / 1.40"
    assert report.verdicts(payload, "lstm")[1].endswith("MET (compress 0.3: 2.20x)")
    assert ("The ns.compress runs start from the trained dense model: `ns.compress(model, "
            "(x_train, y_train), macs=share, epochs=3, method=\"penalty\")` (the share in the "
            "strength column), so their models trained 4 + 3 epochs in all.") in (
        report.setup_text(payload, "lstm"))
    assert "ns.compress" not in report.setup_text(payload, "vit")


def test_compress_runs_are_also_judged_against_the_dense_model_trained_as_long():
    payload = _payload()
    payload["settings"]["compress_epochs"] = {"vit": 3, "lstm": 10}
    row = _compress_row("prune")
    long_dense = _run("lstm", 14.0, 1.15, {"units": [128]}, 81674, None, 1e-6, 0.5)
    long_dense.update(arm="dense-long", epochs=14,
                      error_pct={"trained": 1.15, "shrunk": 1.15, "finetuned": None})
    payload["runs"] += [long_dense, row]
    assert report.penalized_runs(payload, "lstm") == payload["runs"][5:7] + [row]
    assert report.verdicts(payload, "lstm")[-1] == (
        "- compress run within 0.3 points of the dense model trained as long (14 epochs, "
        "1.15%): MET (compress 0.3: 1.40%, LSTM units 60, 2.20x at batch 1)")
    long_dense["error_pct"]["shrunk"] = 1.09  # 1.40 > 1.09 + 0.3
    assert report.verdicts(payload, "lstm")[-1] == (
        "- compress run within 0.3 points of the dense model trained as long (14 epochs, "
        "1.09%): MISSED (closest: compress 0.3: 1.40%, LSTM units 60)")
    assert len(report.verdicts(payload, "vit")) == 4  # no such model: no line
    lines = report.readme_lines(payload)
    assert any(line.startswith("| dense (Adam) trained as long as the compress runs (strength: "
                               "epochs) | 14 | 1.15 / 1.09 / - | 128 | 81,674 | 1.000 | 1,633,480 | 326,696 | - |")
               for line in lines)


@pytest.mark.parametrize("arm", ["compress", "compress-penalty"])
def test_the_penalty_from_scratch_is_judged_apart_from_compress(arm):
    payload = _payload()
    payload["settings"]["compress_epochs"] = {"vit": 3, "lstm": 3}
    payload["settings"]["prox_warmup_epochs"] = 1
    payload["runs"][5]["arm"] = "adaptive-group-lasso"  # LSTM: 1.60% > 1.20% + 0.3
    row = dict(_compress_row("prune" if arm == "compress" else "penalty"), arm=arm)
    payload["runs"].append(row)
    method = "prune" if arm == "compress" else "penalty"
    assert f"macs=share, epochs=3, method=\"{method}\")` (the share" in report.setup_text(
        payload, "lstm")
    payload["runs"].append(dict(_compress_row("penalty"), arm="compress-penalty"))
    if arm == "compress":
        assert ("method=\"prune\")` (the compress-penalty runs with method=\"penalty\") (the "
                "share") in report.setup_text(payload, "lstm")
    payload["runs"].pop()
    assert report.matched_run(payload, "lstm") is row
    assert report.scratch_run(payload, "lstm") is None
    assert report.verdicts(payload, "lstm")[3] == (
        "- penalty from scratch (no trained model) within 0.3 points of the dense 1.20%: "
        "MISSED (closest: adaptive-group-lasso 0.1: 1.60%, LSTM units 60)")
    payload["runs"][5]["error_pct"]["finetuned"] = 1.5
    assert report.scratch_run(payload, "lstm") is payload["runs"][5]
    assert report.verdicts(payload, "lstm")[3].endswith(
        "MET (adaptive-group-lasso 0.1: 1.50%, LSTM units 60, 24% of the MACs); >= 2x at "
        "batch 1: MET (2.80x)")
    assert ("fine-tuned 2 epoch(s) without it, Adam from 0.001; `ProximalAdam(adaptive_prox="
            "True, prox_warmup_steps=<1 epoch>)` for the adaptive arm), seed 0") in (
        report.setup_text(payload, "lstm"))
    assert "adaptive_prox" not in report.setup_text(payload, "vit")
    labels = [line.split(" | ")[0] for line in report.readme_lines(payload) if "| 0.1 |" in line]
    assert labels == ["| group lasso per unit group, prox in Adam's metric"]


def test_the_gates_arm_trains_a_gated_copy_with_a_gate_per_head_and_mlp_neuron():
    import tf_neuronselect as ns
    from benchmarks.sequence import models, training

    dense = models.BUILDERS["vit"]()
    gated, names = training.attach(dense, "adaptive-gates", 1e-3)
    attention = [l for l in gated.layers if isinstance(l, ns.GatedMultiHeadAttention)]
    gates = [l for l in gated.layers if isinstance(l, ns.Gate)]
    config = bench_sequence.config
    assert len(attention) == len(gates) == config.VIT_BLOCKS
    assert all(g.l1 == 1e-3 and g.input.shape[-1] == config.VIT_MLP for g in gates)
    assert set(names) == {l.name for l in attention + gates}
    assert not any(isinstance(l, ns.Gate) for l in dense.layers)  # the original is untouched
    assert training.optimizer("adaptive-gates", 100, 5).get_config()["adaptive_prox"]


def test_the_setup_says_what_a_width_of_zero_means_only_when_a_run_has_one():
    payload = _payload()  # the ViT's 0.4 run has heads 2-1-1-0
    dropped = "A width of 0: every head (or MLP neuron) of that block's branch was dead"
    assert dropped in report.setup_text(payload, "vit")
    assert dropped not in report.setup_text(payload, "lstm")
    payload["runs"] = [r for r in payload["runs"] if r["strength"] != 0.4]
    assert dropped not in report.setup_text(payload, "vit")
