"""bench_compress's report: means over seeds, the target's verdicts and the README table, from
hand-made rows (the numbers below are worked out by hand, not by the report)."""

from benchmarks.compress import config, report


def _row(arch, level, path, seed, error, compression=10.0):
    return {"arch": arch, "level": level, "path": path, "seed": seed, "error_pct": error,
            "compression": compression, "seconds": 1.0}


def _runs(compress_errors, l2_errors=(1.0, 1.2), level=30):
    runs = []
    for path in config.PATHS:
        for seed in (0, 1):
            error = {"compress": compress_errors, "l2": l2_errors}.get(path, (2.0, 2.0))[seed]
            runs.append(_row("lenet5", level, path, seed, error))
    return runs


def test_compress_meets_the_target_when_best_and_below_l2():
    [verdict] = report.verdicts(_runs((0.9, 1.1)))  # mean 1.0 against L2's 1.1
    assert verdict["within"] and verdict["beats_l2"] and verdict["met"] and verdict["complete"]
    assert verdict["best_path"] == "compress"


def test_compress_within_tolerance_still_misses_when_not_below_l2():
    [verdict] = report.verdicts(_runs((1.1, 1.13)))  # mean 1.115: within 0.05 of 1.1, not below
    assert verdict["within"] and verdict["beats_l2"] is False and not verdict["met"]
    assert report.verdict_lines(_runs((1.1, 1.13)))[0].endswith("**MISSED**")


def test_below_the_l2_level_only_the_tolerance_counts():
    [verdict] = report.verdicts(_runs((1.1, 1.13), level=10))
    assert verdict["beats_l2"] is None and verdict["met"]


def test_a_missing_seed_marks_the_level_incomplete():
    runs = [r for r in _runs((0.9, 1.1)) if not (r["path"] == "taylor" and r["seed"] == 1)]
    [verdict] = report.verdicts(runs)
    assert not verdict["complete"]
    assert report.verdict_lines(runs)[-1].endswith("(incomplete: not every path and seed)")


def test_readme_table_shows_each_paths_mean_and_bolds_the_lowest():
    payload = {"settings": {"epochs": 5}, "runs": _runs((0.9, 1.1))}
    lines = report.readme_lines(payload)
    assert lines[0].endswith("with 5 epochs of training by each path; mean test error % over "
                             "seeds 0, 1:")
    assert lines[4] == "| LeNet-5-Caffe | 30x | 1.10 | 2.00 | 2.00 | 2.00 | **1.00** |"
