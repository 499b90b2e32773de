"""Where benchmark results go, and the one way every benchmark writes a file: atomically.

A file is written to a temporary file beside it and then moved over the old one with os.replace,
so a benchmark killed mid-write leaves the previous file, never half of one.
"""

import json
import os
import pathlib

from benchmarks import _common

RESULTS_ENV = "NEURONSELECT_BENCH_RESULTS"
STORED = pathlib.Path(__file__).resolve().parent / "results"


def results_dir(quick=False):
    """$NEURONSELECT_BENCH_RESULTS when set (run_all.py sets it for every step it starts), else
    benchmarks/results, or benchmarks/results/quick for a ``--quick`` run, so that a smoke run
    never overwrites the stored results."""
    directed = os.environ.get(RESULTS_ENV)
    if directed:
        return pathlib.Path(directed).resolve()
    return STORED / "quick" if quick else STORED


def result_path(filename, quick=False):
    return results_dir(quick) / filename


def work_dir(name, quick=False):
    """Scratch space of one benchmark (exports, cached weights; not committed)."""
    return results_dir(quick) / "_work" / name


def _replace_atomically(path, write):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Beside the target, because os.replace is atomic only within one file system; the process
    # id keeps two processes that write the same file from sharing one temporary.
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text(path, text):
    return _replace_atomically(path, lambda tmp: tmp.write_text(text))


def write_bytes(path, data):
    return _replace_atomically(path, lambda tmp: tmp.write_bytes(data))


def write_json(path, payload, sort_keys=True):
    return write_text(path, json.dumps(payload, indent=2, sort_keys=sort_keys) + "\n")


def save_figure(figure, path):
    """Saves a matplotlib figure as PNG (named explicitly: the temporary's suffix is .tmp)."""
    return _replace_atomically(
        path, lambda tmp: figure.savefig(tmp, format="png", dpi=110, bbox_inches="tight"))


def write_result(name, payload, quick=False):
    """Writes ``<results>/<name>.json`` with the machine it ran on under "environment"."""
    return write_json(result_path(f"{name}.json", quick),
                      dict(payload, environment=_common.environment()))
