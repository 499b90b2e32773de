"""Runs every benchmark, each in its own process, then writes results/RESULTS.md.

    python benchmarks/run_all.py            # full run (`make bench`), ~80 min on 2 cores
    python benchmarks/run_all.py --quick    # smoke run (`make bench-quick`), a few minutes

(The last full run took 64 min; the MNIST runs added since, parameter-share comparisons and a
longer LeNet-300-100 fine-tune, put bench_mnist's summed per-run time at 73 min instead of 56:
results/mnist.json seconds_total.)

The full run writes into benchmarks/results/; ``--quick`` writes into benchmarks/results/quick/
(or ``--results-dir``) so a smoke run never overwrites real numbers. The TFMOT baseline needs
tf-keras and tensorflow-model-optimization: they are installed into this interpreter's
environment with ``pip install --no-deps`` when missing (``--no-install`` skips that, and the
baseline then records why it was skipped). Each script runs in a subprocess because importing
tfmot switches the whole process to legacy tf_keras.

Run time on 2 cores, from the per-row wall times in results/mnist.json (``seconds_by_arch``) and
budgets.json: LeNet-5 ~32 min, LeNet-300-100 ~16 min, the VGG-style net ~25-40 min, budgets
~15 min, TFMOT, extras and the micro-benchmarks ~10 min.
"""

import argparse
import datetime
import json
import os
import pathlib
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import report  # noqa: E402

# (script, runs in --quick too): the MNIST benchmarks, then the existing micro-benchmarks
# (those always write into results/, so they only run in the full mode).
SCRIPTS = (
    ("bench_mnist.py", True),
    ("bench_tfmot.py", True),
    ("bench_extras.py", True),
    ("bench_budgets.py", True),
    ("bench_prox_step.py", False),
    ("bench_export.py", False),
    ("bench_rewrite.py", False),
)
TFMOT_PACKAGES = ["tf-keras==2.21.0", "tensorflow-model-optimization==0.8.1", "dm-tree"]


def log(message):
    print(f"[run_all {time.strftime('%H:%M:%S')}] {message}", flush=True)


def ensure_tfmot(allowed):
    """Installs the TFMOT baseline's packages when missing; returns a status string."""
    probe = [sys.executable, "-c",
             "import importlib.util as u, sys; "
             "sys.exit(0 if u.find_spec('tf_keras') and "
             "u.find_spec('tensorflow_model_optimization') else 1)"]
    if subprocess.run(probe, check=False).returncode == 0:
        return "present"
    if not allowed:
        return "missing (--no-install)"
    log(f"installing the TFMOT baseline's packages: pip install --no-deps {' '.join(TFMOT_PACKAGES)}")
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                             *TFMOT_PACKAGES], check=False)
    if result.returncode != 0:
        log("pip install failed: the TFMOT baseline will be skipped (see results/tfmot.json)")
        return "install failed"
    return "installed"


def run_script(script, quick, env):
    command = [sys.executable, "-u", str(HERE / script)] + (["--quick"] if quick else [])
    log(f"--- {script} {'--quick' if quick else ''}")
    start = time.perf_counter()
    result = subprocess.run(command, env=env, check=False)
    seconds = time.perf_counter() - start
    status = "ok" if result.returncode == 0 else f"failed (exit {result.returncode})"
    log(f"--- {script}: {status} in {seconds / 60:.1f} min")
    return {"script": script, "status": status, "seconds": round(seconds, 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run of everything")
    parser.add_argument("--results-dir", default=None,
                        help="where results go (default results/, or results/quick/ with --quick)")
    parser.add_argument("--only", nargs="+", default=None, metavar="SCRIPT",
                        help="run only these scripts (e.g. bench_mnist.py)")
    parser.add_argument("--no-install", action="store_true",
                        help="do not pip-install the TFMOT baseline's packages")
    args = parser.parse_args()

    results = pathlib.Path(args.results_dir or (HERE / "results" / ("quick" if args.quick
                                                                     else ""))).resolve()
    results.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env[report.RESULTS_ENV] = str(results)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if not env.get("NEURONSELECT_DATA"):
        shared = HERE.parent.parent / "shared" / "data"
        if (shared / "mnist.npz").is_file():
            env["NEURONSELECT_DATA"] = str(shared)
    scripts = [s for s, in_quick in SCRIPTS if in_quick or not args.quick]
    if args.only:
        scripts = [s for s in scripts if s in args.only]
    start = time.perf_counter()
    tfmot_status = ensure_tfmot(not args.no_install) if "bench_tfmot.py" in scripts else "n/a"
    log(f"results -> {results}; scripts: {', '.join(scripts)}; TFMOT packages: {tfmot_status}")
    steps = []
    summary = {"command": " ".join(["python benchmarks/run_all.py"] + sys.argv[1:]),
               "quick": args.quick, "tfmot_packages": tfmot_status, "cpus": os.cpu_count(),
               "started": datetime.datetime.now().isoformat(timespec="seconds"), "steps": steps}
    for index, script in enumerate(scripts, 1):
        log(f"[{index}/{len(scripts)}]")
        steps.append(run_script(script, args.quick, env))
        summary["seconds_total"] = round(time.perf_counter() - start, 1)
        summary["finished"] = datetime.datetime.now().isoformat(timespec="seconds")
        report.atomic_write_text(results / "run_all.json", json.dumps(summary, indent=2) + "\n")
    subprocess.run([sys.executable, str(HERE / "report.py")], env=env, check=False)
    log(f"done in {summary['seconds_total'] / 60:.1f} min; see {results / 'RESULTS.md'}")
    return 0 if all(s["status"] == "ok" for s in steps) else 1


if __name__ == "__main__":
    sys.exit(main())
