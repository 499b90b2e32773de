"""Helpers shared by the benchmark scripts: log lines, the machine, interleaved timing."""

import os
import platform
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def log(message, prefix=""):
    """Prints ``[prefix HH:MM:SS] message`` at once, so a long benchmark's log shows progress."""
    stamp = f"{prefix} {time.strftime('%H:%M:%S')}" if prefix else time.strftime('%H:%M:%S')
    print(f"[{stamp}] {message}", flush=True)


def progress(index, total, started, width=20):
    """A progress line for the ``index``-th of ``total`` steps (1-based, about to start):
    ``[3/12] [###-----------------] 17%, 4.0 min so far, ~20 min left``; ``started`` is the
    ``time.perf_counter()`` of the first step."""
    return f"[{index}/{total}] " + _bar(index - 1, total, started, width)


def finished(done, total, started, width=20):
    """A progress line after ``done`` of ``total`` steps that run side by side have finished:
    ``[3/12 done] [#####---------------] 25%, 4.0 min so far, ~12 min left``."""
    return f"[{done}/{total} done] " + _bar(done, total, started, width)


def _bar(done, total, started, width):
    filled = round(width * done / total)
    elapsed = time.perf_counter() - started
    left = f", ~{elapsed / done * (total - done) / 60:.0f} min left" if 0 < done < total else ""
    return (f"[{'#' * filled}{'-' * (width - filled)}] "
            f"{100 * done / total:.0f}%, {elapsed / 60:.1f} min so far{left}")


def cpu_model():
    """The CPU's model name and widest vector instructions from /proc/cpuinfo on Linux (e.g.
    ``AMD EPYC, AVX-512``), or what ``platform`` knows elsewhere: the same seed takes other
    floating-point paths on other CPUs, and machines sold under one name differ in AVX-512."""
    try:
        with open("/proc/cpuinfo") as info:
            fields = dict(line.split(":", 1) for line in info if ":" in line)
    except OSError:
        return platform.processor() or "unknown"
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    return describe_cpu(fields.get("model name", platform.processor() or "unknown"),
                        fields.get("flags", "").split())


def describe_cpu(model, flags):
    """``model`` with the widest x86 vector extension among ``flags`` (none on other CPUs)."""
    for flag, name in (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX")):
        if flag in flags:
            return f"{model}, {name}"
    return model


def environment():
    """The interpreter, library versions and machine a result was measured with."""
    import keras
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "machine": platform.machine(), "cpus": os.cpu_count(),
            "cpu": cpu_model()}


def interleaved_medians(candidates, rounds):
    """Runs each zero-argument callable once per round, alternating, and returns median seconds.

    Alternating inside every round spreads machine noise evenly over the candidates, so their
    ratio is meaningful even on a busy machine.
    """
    samples = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, run in candidates.items():
            start = time.perf_counter()
            run()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in samples.items()}
