"""The README lines of the issue-22 benchmarks (benchmarks/seed_points_report.py), on made-up
results: the row on when to pick tri-state follows the numbers, and stays empty without the
group lasso's run."""

import pathlib

from benchmarks import readme_results
from benchmarks import seed_points_report as seed_report

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _row(label, method, removed, gap, latency, linearity=None):
    row = {"label": label, "method": method, "hidden_layers_left": 6 - removed,
           "hidden_layers_removed": removed, "error_gap_points": gap,
           "params_compact": 100_000 - 10_000 * removed, "latency": {"1": {"ratio": latency}}}
    if linearity is not None:
        row["linearity"] = linearity
    return row


def _payload(meets_target, tri_state_latency, group_latency=0.8):
    runs = [_row("dense", "dense", 0, 0.0, 1.0),
            _row("tri-state, seed 0", "tri-state", 4, 0.1, tri_state_latency, 1e-2),
            _row("tri-state, seed 1", "tri-state", 3, 0.2, tri_state_latency - 0.1, 1e-2),
            _row("tri-state, width only", "tri-state", 0, 0.05, 0.9, 0.0),
            _row("sparse group lasso", "sparse-group-lasso", 1, 0.15, group_latency)]
    return {"model": "784-256x6-10 MLP", "runs": runs, "meets_target": meets_target,
            "targets": {"hidden_layers_removed": 2, "error_points": 0.3}}


def test_choice_picks_tri_state_when_it_meets_the_target_and_runs_faster():
    lines = seed_report.tri_state_choice_lines(_payload(True, tri_state_latency=0.5))
    table = [line for line in lines if line.startswith("| ")][1:]
    assert [line.split(" | ")[0] for line in table] == [
        "| tri-state, seed 0", "| tri-state, seed 1", "| tri-state, width only",
        "| sparse group lasso"]
    assert table[0] == "| tri-state, seed 0 | +0.10 | 2 | 60,000 | 0.50 |"
    assert lines[-1].startswith("Pick tri-state with `linearity`")
    # The weaker seed and the slower of the two latencies are the ones quoted.
    assert "at least 3 of the 6" in lines[-1] and "<= 0.50" in lines[-1]
    assert "0.80 for the sparse group lasso (5 hidden layers left)" in lines[-1]


def test_choice_prefers_the_group_penalties_when_tri_state_misses_or_is_slower():
    missed = seed_report.tri_state_choice_lines(_payload(False, tri_state_latency=0.5))
    slower = seed_report.tri_state_choice_lines(_payload(True, tri_state_latency=0.85))
    for lines in (missed, slower):
        assert lines[-1].endswith("prefer the group penalties on such a network.")
    assert "depth target MISSED" in missed[-1] and "depth target MET" in slower[-1]
    assert "up to 0.85 of dense's against 0.80" in slower[-1]


def test_choice_is_empty_without_the_group_lasso_run():
    quick = _payload(True, tri_state_latency=0.5)
    quick["runs"] = quick["runs"][:2]  # a --quick run: dense and one tri-state seed
    assert seed_report.tri_state_choice_lines(quick) == []


def test_readme_choice_block_regenerates_from_the_stored_results():
    readme = (ROOT / "README.md").read_text()
    block = readme.split(readme_results.CHOICE_START, 1)[1].split(readme_results.CHOICE_END)[0]
    assert block == "\n" + readme_results.render_tri_state_choice() + "\n"


def test_replace_block_keeps_what_lies_outside_the_markers():
    text = "head <!-- a --> old <!-- b --> tail"
    assert readme_results.replace_block(text, "<!-- a -->", "<!-- b -->", "new") == (
        "head <!-- a -->\nnew\n<!-- b --> tail")


def test_shrinknets_verdict_names_the_fastest_run_within_the_accuracy_limit():
    def run(l1, speedup, gap, meets):
        return {"l1": l1, "learning_rate_multiplier": 1 / (250 * 0.05 * l1),
                "test_accuracy": 0.98 - gap / 100, "accuracy_gap_points": gap,
                "units_left": 50, "seconds": 100 / speedup, "speedup": speedup,
                "cpu_speedup": speedup, "speedup_to_match": None, "meets_target": meets,
                "removals": [{"step": 160}], "seconds_per_epoch": [20.0, 3.0]}

    payload = {"model": "784-10000(relu)-Gate-10, SGD", "train_examples": 60_000, "epochs": 10,
               "learning_rate": "0.05 cosine-decayed to 0 over 4690 steps",
               "steps_per_execution": 16,
               "remove_every_steps": 25, "min_fraction": 0.2, "close_steps": 250, "target_speedup": 3.0,
               "accuracy_limit_points": 0.5,
               "dense": {"test_accuracy": 0.98, "seconds": 100.0,
                         "seconds_per_epoch": [21.0, 14.0]},
               "overhead": {"ratios": [1.01, 1.02, 1.04], "median": 1.02, "target": 1.03,
                            "meets_target": True},
               "overhead_one_step": {"ratios": [1.05, 1.02], "median": 1.035,
                                     "fastest_ratio": 1.04, "examples": 20_000,
                                     "steps_per_execution": 1, "target": 1.03,
                                     "meets_target": False},
               "runs": [run(1e-4, 3.2, 0.3, True), run(5e-4, 6.0, 1.5, False),
                        run(2e-4, 4.1, 0.4, True)]}
    lines = seed_report.shrink_during_training_lines(payload)
    assert "784-10000-10 with one Gate" in lines[0]
    assert "learning rate 0.05 cosine-decayed to 0 over 4690 steps, `steps_per_execution=16`" \
        in lines[0]
    assert "| 0.0001 | 800 | 97.70% | -0.30 | 50 | 31 | 3.20x |" in lines[4]
    assert lines[-3].endswith("MET (fastest: l1=0.0002, 4.10x)")
    assert lines[-2].endswith("median of 3 pairs: **1.020** (target <= 1.03): MET")
    assert "`steps_per_execution=1`, 2 alternating pairs: fastest run / fastest run **1.040** " \
        "(target <= 1.03): MISSED" in lines[-1]


def test_overhead_counts_the_fastest_runs_and_keeps_the_pair_median():
    from benchmarks import bench_shrink_during_training as bench

    # One pair hit by a stolen core (10.5 s) must not decide the verdict: 5.7 / 5.6.
    seconds = {"plain": [5.6, 10.5, 5.7], "shrinking": [5.8, 5.7, 10.6]}
    overhead = bench.overhead_summary(seconds, 20_000, 16)
    assert overhead["fastest_ratio"] == 5.7 / 5.6
    assert overhead["median"] == 5.8 / 5.6
    assert overhead["meets_target"] is True
    line = seed_report.overhead_line(overhead)
    assert line.endswith("20,000 images, `steps_per_execution=16`, 3 alternating pairs: "
                         "fastest run / fastest run "
                         "**1.018** (target <= 1.03): MET; median of the pair ratios 1.036")


def test_slow_epochs_of_gated_runs_are_listed_against_their_dense_pair():
    def run(l1, seconds, removals):
        return {"l1": l1, "seconds_per_epoch": seconds, "removals": removals}

    data = {"dense": {"seconds_per_epoch": [21.8, 13.8, 14.0]},
            "runs": [run(1e-4, [19.1, 59.7, 2.0], [{"step": 160}]),
                     run(3e-4, [46.1, 3.5, 3.4], [{"step": 160}]),
                     run(2e-4, [22.0, 14.5, 21.0], [])]}  # nothing removed: not listed
    line, = seed_report.slow_epochs_line(data)
    assert line.endswith("l1=0.0001 epoch 2 59.7 s against 13.8 s; "
                         "l1=0.0003 epoch 1 46.1 s against 21.8 s")
    data["runs"] = data["runs"][2:]
    assert seed_report.slow_epochs_line(data) == []
