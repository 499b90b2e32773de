"""Which runs an invocation trains: the plan from the command line, each run's identity (the key
a stored row is replaced by) and the task a worker trains."""

from benchmarks.mnist.config import (COMPARED_SCHEDULES, DEFAULT_METHODS, GLOBAL_COMPARISON,
                                     L2_DROPOUT_STRENGTH, NO_GLOBAL_COMPARISON, PARAMS_RULE_RUNS,
                                     SCHEDULES, SEED, SELECTION_METHODS, SWEEPS)

BASELINES = ("dense", "l2-dropout", "uniform")


def parse_run(text):
    """``METHOD:STRENGTH[:SCHEDULE]`` -> (method, strength, schedule); the schedule defaults to
    "per-layer"."""
    parts = text.split(":")
    if (len(parts) not in (2, 3) or parts[0] not in SELECTION_METHODS
            or (len(parts) == 3 and parts[2] not in SCHEDULES)):
        raise SystemExit(
            f"--runs: expected METHOD:STRENGTH[:SCHEDULE] with METHOD one of "
            f"{', '.join(SELECTION_METHODS)} and SCHEDULE one of {', '.join(SCHEDULES)}. "
            f"Received: {text!r}. Example: gate:4e-3:params-rule")
    try:
        strength = float(parts[1])
    except ValueError:
        raise SystemExit(f"--runs: expected a number after the method. Received: {text!r}. "
                         "Example: gate:4e-3") from None
    return parts[0], strength, parts[2] if len(parts) == 3 else "per-layer"


def params_rule_arguments(arch):
    """Arguments of the bench_mnist run that merges ``arch``'s PARAMS_RULE_RUNS into
    results/mnist.json, then matches the uniform baseline again to the best selection run."""
    return ("--merge", "--arch", arch, "--methods", "uniform", "--runs",
            *(f"{method}:{strength:g}:params-rule" for method, strength in PARAMS_RULE_RUNS[arch]))


def build_plan(args):
    """(arch, method, strength, schedule) of every run of this invocation, dense first."""
    baselines = [(arch, method, L2_DROPOUT_STRENGTH if method == "l2-dropout" else 0.0, None)
                 for arch in args.arch for method in BASELINES]
    if args.runs:  # exactly these selection runs, plus the baselines --methods names
        plan = [(arch, "dense", 0.0, None) for arch in args.arch]
        plan += [(arch, *parse_run(run)) for arch in args.arch for run in args.runs]
        plan += [p for p in baselines if p[1] in (args.methods or ()) and p[1] != "dense"]
    else:
        plan = [run for arch in args.arch for method in args.methods or DEFAULT_METHODS[arch]
                for run in _method_runs(args, arch, method, baselines)]
    # The dense reference goes first per architecture: everything is compared to its TFLite.
    for arch in args.arch:
        if any(p[0] == arch for p in plan) and (arch, "dense", 0.0, None) not in plan:
            plan.insert(0, (arch, "dense", 0.0, None))
    plan.sort(key=lambda p: (args.arch.index(p[0]), p[1] != "dense", p[1] == "uniform"))
    return plan


def _method_runs(args, arch, method, baselines):
    """A baseline's run, or a selection method's strength sweep (its first strength only with
    --quick) and the global-strength comparison at the sweep's middle strength."""
    from tf_neuronselect.examples import recipes

    if method not in SELECTION_METHODS:
        return [next(p for p in baselines if p[:2] == (arch, method))]
    sweep = (args.strengths or SWEEPS[arch].get(method) or (recipes.DEFAULT_STRENGTH[method],))
    if args.quick:
        sweep = sweep[:1]
    runs = [(arch, method, strength, "per-layer") for strength in sweep]
    if (not args.no_global and not args.quick and method in GLOBAL_COMPARISON
            and arch not in NO_GLOBAL_COMPARISON):
        runs += [(arch, method, sweep[len(sweep) // 2], schedule)
                 for schedule in COMPARED_SCHEDULES]
    return runs


def seeded_plan(plan, seeds):
    """(seed, arch, method, strength, schedule) of every run. Every seed's selection runs come
    before the uniform baselines, which are matched once to the best configuration's mean size
    over all seeds."""
    return ([(seed, *run) for seed in seeds for run in plan if run[1] != "uniform"]
            + [(seed, *run) for seed in seeds for run in plan if run[1] == "uniform"])


def run_key(arch, method, strength, schedule, seed=SEED):
    """A run's identity (arch, method, strength, schedule, seed), normalised so that a planned
    run and a stored row compare equal (dense and uniform have no strength, baselines no
    schedule; rows stored before seeds were recorded are seed ``SEED``)."""
    if method in ("dense", "uniform"):
        strength = None
    elif strength is not None:
        strength = float(f"{float(strength):.6g}")
    return (arch, method, strength, schedule if method in SELECTION_METHODS else None, seed)


def row_key(row):
    return run_key(row["arch"], row["method"], row.get("strength"), row.get("schedule"),
                   row.get("seed", SEED))


def make_task(run, settings, first_seed, widths=None, row_fields=None):
    """One planned run as train_one's arguments ("run") plus fields its row gets ("row")."""
    seed, arch, method, strength, schedule = run
    return {"run": {"arch": arch, "method": method, "strength": strength,
                    "settings": dict(settings, seed=seed,
                                     finetune_epochs=settings["finetune_epochs"][arch]),
                    "schedule": schedule or "per-layer", "widths": widths,
                    "reference": method == "dense" and seed == first_seed},
            "row": dict(row_fields or {})}
