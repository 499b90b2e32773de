import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# oneDNN's CPU kernels can change their reduction order when the cores are contended (CI runs
# two pytest workers on two cores), and Adam turns those last-bit differences on near-zero
# gate gradients into visible weight differences: the exact-resume tests then fail on the
# machine's load, not on our code. This must be set before TensorFlow is first imported.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


# Fixtures that make every test using them slow: `run_all.py --quick` in tests/test_benchmarks.py
# (about five minutes). Marked here so that make test-fast leaves them out.
SLOW_FIXTURES = {"quick_results"}


def pytest_collection_modifyitems(items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    # Layer names and random seeds would otherwise depend on which tests ran before. Without
    # free_memory: its full gc.collect() costs 0.1 s of CPU per test once TensorFlow is loaded
    # (a minute over the suite), and Python's own collector frees the old models anyway.
    keras.backend.clear_session(free_memory=False)
    keras.utils.set_random_seed(1234)
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.fixture
def rng():
    return np.random.default_rng(0)
