"""Penalties, gates and proximal optimizers under MultiWorkerMirroredStrategy: two local worker
processes on 127.0.0.1 must end where one device ends.

Each worker runs tests/multiworker_script.py with its own TF_CONFIG. Both are started in their
own process groups and killed (the whole group) if they have not finished in TIMEOUT seconds, so
a hung collective can never outlive the test.
"""

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

# Run as a module from the repository root, so the script imports tests.helpers like a test.
ROOT = pathlib.Path(__file__).resolve().parent.parent
SCRIPT = "tests.multiworker_script"
TIMEOUT = 240
WORKERS = 2
pytestmark = pytest.mark.slow  # worker subprocesses


def free_ports(count):
    """``count`` distinct ports that were free on 127.0.0.1 a moment ago (skips the test when
    this machine cannot listen on the loopback interface at all)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    except OSError as error:
        pytest.skip(f"MultiWorkerMirroredStrategy needs TCP on 127.0.0.1, which fails here: "
                    f"{error}")
    finally:
        for s in sockets:
            s.close()


def tf_config(ports, index):
    return json.dumps({
        "cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]},
        "task": {"type": "worker", "index": index},
    })


def _kill_group(process):
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait(timeout=30)


def run_workers(out_dir, timeout=TIMEOUT):
    """Starts every worker, waits at most ``timeout`` seconds in total, kills stragglers.
    Returns ``[(returncode, stderr tail), ...]`` and whether the deadline was hit."""
    ports = free_ports(WORKERS)
    logs = [open(out_dir / f"worker{i}.log", "w+") for i in range(WORKERS)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", SCRIPT, str(out_dir)],
            env={**os.environ, "TF_CONFIG": tf_config(ports, i), "TF_CPP_MIN_LOG_LEVEL": "2",
                 "CUDA_VISIBLE_DEVICES": ""},
            stdout=logs[i], stderr=subprocess.STDOUT, cwd=ROOT,
            start_new_session=True,  # own process group: killpg reaches all its children
        )
        for i in range(WORKERS)
    ]
    deadline = time.monotonic() + timeout
    timed_out = False
    try:
        for process in processes:
            remaining = max(0.0, deadline - time.monotonic())
            try:
                process.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                timed_out = True
                break
    finally:
        for process in processes:
            _kill_group(process)
    results = []
    for process, log in zip(processes, logs):
        log.seek(0)
        results.append((process.returncode, log.read()[-4000:]))
        log.close()
    return results, timed_out


@pytest.mark.distributed
def test_two_worker_training_matches_one_device(tmp_path):
    results, timed_out = run_workers(tmp_path)
    if any("Address already in use" in text for _, text in results):
        results, timed_out = run_workers(tmp_path)  # a port was taken in between: retry once
    assert not timed_out, f"workers did not finish in {TIMEOUT} s: {results}"
    for index, (code, text) in enumerate(results):
        assert code == 0, f"worker {index} exited with {code}:\n{text}"
    workers = [np.load(tmp_path / f"worker{i}.npz") for i in range(WORKERS)]
    single = np.load(tmp_path / "single.npz")
    assert int(workers[0]["replicas"]) == 2
    for optimizer in ("sgd", "adam"):
        # 256 samples / global batch 32 * 3 epochs: every worker ran every global step.
        assert int(workers[0][f"{optimizer}/iterations"]) == 24
        names = [k for k in single.files if k.startswith(optimizer + "/")]
        assert names
        for name in names:
            np.testing.assert_array_equal(workers[0][name], workers[1][name], err_msg=name)
            np.testing.assert_allclose(workers[0][name], single[name], atol=1e-5, err_msg=name)
    # The proximal steps kept their exact zeros across workers: same dead units as one device.
    for optimizer in ("sgd", "adam"):
        kernel = f"{optimizer}/0"
        dead_multi = np.all(workers[0][kernel] == 0.0, axis=0)
        dead_single = np.all(single[kernel] == 0.0, axis=0)
        np.testing.assert_array_equal(dead_multi, dead_single)
    assert np.all(workers[0]["sgd/0"] == 0.0, axis=0).sum() > 0


def test_worker_processes_are_killed_on_timeout(tmp_path, monkeypatch):
    # A worker whose peer never comes up waits forever for the cluster: the runner must end it.
    monkeypatch.setattr(sys.modules[__name__], "WORKERS", 1)
    ports, real_config = free_ports(2), tf_config

    def lonely_config(_, index):
        return real_config(ports, index)  # a 2-worker cluster with only worker 0 started

    monkeypatch.setattr(sys.modules[__name__], "tf_config", lonely_config)
    start = time.monotonic()
    results, timed_out = run_workers(tmp_path, timeout=10)
    assert timed_out
    assert results[0][0] is not None and results[0][0] != 0  # killed, not still running
    assert time.monotonic() - start < 60
