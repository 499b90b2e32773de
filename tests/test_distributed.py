"""Penalties, gates and proximal optimizers under tf.distribute.MirroredStrategy (2 CPUs)."""

import json
import pathlib
import subprocess
import sys

import pytest

# Run as a module from the repository root, so the script imports tests.helpers like a test.
ROOT = pathlib.Path(__file__).resolve().parent.parent
SCRIPT = "tests.distributed_script"
pytestmark = pytest.mark.slow  # a subprocess training on two logical CPUs


@pytest.mark.distributed
@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adam-adaptive"])
def test_mirrored_training_matches_single_device(optimizer):
    result = subprocess.run(
        [sys.executable, "-m", SCRIPT, optimizer], capture_output=True, text=True, timeout=600,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["replicas"] == 2
    assert report["replicas_identical"]
    assert report["max_weight_diff"] < 1e-4, report
    assert report["zero_units_mirrored"] == report["zero_units_single"] > 0
