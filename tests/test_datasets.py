"""Dataset loading from local npz / IDX files and the offline digits set."""

import gzip

import numpy as np
import pytest

from tf_neuronselect import datasets


def _fake_arrays(rng):
    return {
        "x_train": rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, size=20).astype(np.uint8),
        "x_test": rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, size=5).astype(np.uint8),
    }


def _write_idx(path, array, compress):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    data = header + array.tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)


def test_npz_file_and_directory(tmp_path, rng):
    arrays = _fake_arrays(rng)
    np.savez(tmp_path / "mnist.npz", **arrays)
    for location in (tmp_path / "mnist.npz", tmp_path):
        data = datasets.load("mnist", path=location)
        assert data.x_train.shape == (20, 28, 28, 1) and data.x_train.dtype == np.float32
        np.testing.assert_allclose(data.x_test[..., 0], arrays["x_test"] / 255.0)
        np.testing.assert_array_equal(data.y_train, arrays["y_train"])


@pytest.mark.parametrize("compress", [False, True])
def test_idx_files(tmp_path, rng, compress):
    arrays = _fake_arrays(rng)
    for key, stem in datasets._IDX_FILES.items():
        _write_idx(tmp_path / stem, arrays[key], compress)
    data = datasets.load("mnist", path=tmp_path)
    np.testing.assert_array_equal(data.y_test, arrays["y_test"])
    np.testing.assert_allclose(data.x_train[..., 0], arrays["x_train"] / 255.0)


def test_environment_variable(tmp_path, rng, monkeypatch):
    arrays = _fake_arrays(rng)
    np.savez(tmp_path / "mnist.npz", **arrays)
    monkeypatch.setenv(datasets.ENV_VAR, str(tmp_path))
    data = datasets.load("mnist")
    assert data.source == str(tmp_path / "mnist.npz")
    np.testing.assert_array_equal(data.y_test, arrays["y_test"])


def test_wrong_npz_keys_are_named(tmp_path):
    np.savez(tmp_path / "mnist.npz", images=np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"missing \['x_train', 'y_train', 'x_test', 'y_test'\]"):
        datasets.load("mnist", path=tmp_path / "mnist.npz")


def test_missing_explicit_path_says_what_was_expected(tmp_path):
    with pytest.raises(FileNotFoundError, match="Expected mnist data at"):
        datasets.load("mnist", path=tmp_path / "nothing")


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match=r"Expected a dataset name in \['mnist', 'fashion_mnist', "
                                         r"'cifar10', 'digits'\]. Received: name='imagenet'."):
        datasets.load("imagenet")


def test_digits_offline_and_tf_data():
    data = datasets.load("digits")
    assert data.x_train.shape[1:] == (8, 8, 1) and data.num_classes == 10
    assert len(data.x_train) + len(data.x_test) == 1797
    train, test = data.as_tf_data(batch_size=64)
    x, y = next(iter(train))
    assert tuple(x.shape) == (64, 8, 8, 1) and tuple(y.shape) == (64,)


def test_shared_mnist_when_present():
    import pathlib

    shared = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist.npz"
    if not shared.is_file():
        pytest.skip("../shared/data/mnist.npz is not on this machine")
    data = datasets.load("mnist", path=shared)
    assert data.x_train.shape == (60000, 28, 28, 1) and data.x_test.shape == (10000, 28, 28, 1)
