"""The prox functions against NumPy references and against their defining argmin."""

import numpy as np
import pytest

from tests.helpers.references import numpy_soft_threshold
from tests.helpers.references import numpy_sparse_group_prox
from tests.helpers.references import sgl_objective
from tf_neuronselect import ops as prox_ops
from tf_neuronselect.regularizers import SparseGroupLasso


@pytest.mark.parametrize("threshold", [0.0, 0.3, 5.0])
def test_soft_threshold_matches_numpy(rng, threshold):
    x = rng.normal(size=(7, 5)).astype("float32")
    got = np.asarray(prox_ops.soft_threshold(x, threshold))
    np.testing.assert_allclose(got, numpy_soft_threshold(x, threshold), atol=1e-6)


def test_group_soft_threshold_zeroes_groups_below_threshold_exactly(rng):
    x = rng.normal(size=(4, 6)).astype("float32")
    x[:, 2] *= 0.01  # one group far below the threshold
    norms = np.linalg.norm(x, axis=0)
    threshold = float(np.median(norms))
    got = np.asarray(prox_ops.group_soft_threshold(x, threshold, 0))
    below = norms <= threshold
    assert np.all(got[:, below] == 0.0)
    expected_scale = 1 - threshold / norms[~below]
    np.testing.assert_allclose(got[:, ~below], x[:, ~below] * expected_scale, rtol=1e-5)


def test_group_soft_threshold_of_zero_vector_is_zero_and_finite():
    got = np.asarray(prox_ops.group_soft_threshold(np.zeros((3, 2), "float32"), 0.5, 0))
    assert np.all(got == 0.0) and np.all(np.isfinite(got))


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("step", [1e-3, 0.1, 10.0])
def test_sparse_group_lasso_prox_matches_closed_form(rng, alpha, step):
    beta = 0.2
    theta = rng.normal(size=(9, 8)).astype("float32")
    theta[:, 0] = 0.0
    penalty = SparseGroupLasso(beta, alpha=alpha, include_bias=False)
    got, _ = penalty.prox(theta, step)
    expected = numpy_sparse_group_prox(theta.astype("float64"), step, alpha, beta, 9)
    np.testing.assert_allclose(np.asarray(got), expected, atol=1e-5)


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
def test_sparse_group_lasso_prox_is_the_argmin(rng, alpha):
    # No perturbation of the prox output may lower the prox objective (it is strongly convex).
    beta, step = 0.3, 0.5
    x = rng.normal(size=(5, 4))
    z, _ = SparseGroupLasso(beta, alpha=alpha, include_bias=False).prox(x.astype("float32"), step)
    z = np.asarray(z, dtype=np.float64)
    best = sgl_objective(z, x, step, alpha, beta, 5)
    for _ in range(200):
        trial = z + rng.normal(scale=1e-2, size=z.shape)
        assert sgl_objective(trial, x, step, alpha, beta, 5) >= best - 1e-5


def test_prox_includes_bias_in_each_group(rng):
    kernel = rng.normal(size=(3, 4)).astype("float32")
    bias = rng.normal(size=(4,)).astype("float32")
    new_kernel, new_bias = SparseGroupLasso(0.7, alpha=0.0).prox(kernel, 0.5, bias)
    joint = np.concatenate([kernel, bias[None]], axis=0).astype(np.float64)
    expected = numpy_sparse_group_prox(joint, 0.5, 0.0, 0.7, 3)
    np.testing.assert_allclose(np.asarray(new_kernel), expected[:-1], atol=1e-5)
    np.testing.assert_allclose(np.asarray(new_bias), expected[-1], atol=1e-5)
