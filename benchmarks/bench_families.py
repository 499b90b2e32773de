"""Which keras.applications families shrink: every family's smallest member (weights=None,
random BatchNorm statistics) with 30% of its zero-invariant unit groups zeroed, and separately
30% of each BatchNorm's channels at gamma = beta = 0; parameters, MACs, exactness and shrink time
before and after ``ns.shrink``.

    python -m benchmarks.bench_families [--quick] [--families NAME ...]

Writes results/families.json and families.md (``--quick``: two families, into results/quick/).
"""

import argparse
import pathlib
import sys
import time

if not __package__:  # run as a file, not with -m: import the package from the repo root
    sys.path[0] = str(pathlib.Path(__file__).resolve().parent.parent)

import numpy as np  # noqa: E402

from benchmarks import _common, families, resultfiles  # noqa: E402

log = _common.log
MODES = ("unit-groups", "batchnorm")
# The issue's exactness criterion: max |difference| <= TOLERANCE * max(1, max |output|).
TOLERANCE = 1e-5
SEEDS = {"unit-groups": 0, "batchnorm": 1}  # as tests/test_families.py


def kill(model, mode, rng):
    """Kills units the ``mode`` way; returns (killed, candidates): unit groups or channels."""
    if mode == "unit-groups":
        return families.zero_unit_groups(model, families.SHARE, rng)
    return families.silence_batchnorm(model, families.SHARE, rng)


def measure(name, mode):
    """One row: the family ``name`` with units killed the ``mode`` way, shrunk."""
    import keras
    import tf_neuronselect as ns

    if mode == "batchnorm" and name in families.WITHOUT_BATCHNORM_GAMMA:
        return {"family": name, "mode": mode, "skipped": families.WITHOUT_BATCHNORM_GAMMA[name]}
    keras.backend.clear_session()
    rng = np.random.default_rng(SEEDS[mode])
    model = families.build(name, rng)
    killed, candidates = kill(model, mode, rng)
    start = time.perf_counter()
    shrunk = ns.shrink(model)
    seconds = time.perf_counter() - start
    x = rng.normal(size=(4,) + tuple(model.inputs[0].shape[1:])).astype("float32")
    before = keras.ops.convert_to_numpy(model(x))
    difference = float(np.max(np.abs(before - keras.ops.convert_to_numpy(shrunk(x)))))
    largest = float(np.max(np.abs(before)))
    params = (int(model.count_params()), int(shrunk.count_params()))
    macs = (int(ns.count_macs(model)), int(ns.count_macs(shrunk)))
    return {"family": name, "mode": mode, "input_side": families.FAMILIES[name],
            "killed": killed, "candidates": candidates,
            "params_before": params[0], "params_after": params[1],
            "kept_params": round(params[1] / params[0], 4),
            "macs_before": macs[0], "macs_after": macs[1], "kept_macs": round(macs[1] / macs[0], 4),
            "max_abs_diff": difference, "max_abs_output": largest,
            "relative_diff": difference / largest if largest else difference,
            "exact": difference <= TOLERANCE * max(1.0, largest),
            "shrink_seconds": round(seconds, 2)}


def describe(row):
    if row.get("skipped"):
        return f"{row['family']} {row['mode']}: skipped ({row['skipped']})"
    return (f"{row['family']} {row['mode']}: killed {row['killed']}/{row['candidates']}, "
            f"params {row['params_before']:,} -> {row['params_after']:,} "
            f"({row['kept_params']:.3f}), MACs kept {row['kept_macs']:.3f}, max diff "
            f"{row['max_abs_diff']:.1e}, {'exact' if row['exact'] else 'NOT EXACT'}, "
            f"shrink {row['shrink_seconds']:.1f} s")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"only {', '.join(families.QUICK_FAMILIES)}, into results/quick/")
    parser.add_argument("--families", nargs="+", default=None, choices=sorted(families.FAMILIES),
                        metavar="NAME", help="only these families (default: all)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    names = args.families or (families.QUICK_FAMILIES if args.quick else sorted(families.FAMILIES))
    start = time.perf_counter()
    rows = []
    for name in names:
        for mode in MODES:
            rows.append(measure(name, mode))
            log(describe(rows[-1]))
    payload = {"settings": {"share": families.SHARE, "tolerance": TOLERANCE, "seeds": SEEDS,
                            "quick": args.quick, "families": list(names)},
               "rows": rows, "seconds_total": round(time.perf_counter() - start, 1)}
    path = resultfiles.write_result("families", payload, args.quick)
    resultfiles.write_text(path.with_suffix(".md"), families.families_markdown(payload))
    log(f"wrote {path} in {payload['seconds_total'] / 60:.1f} min")
    return 0 if all(r.get("exact", True) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
