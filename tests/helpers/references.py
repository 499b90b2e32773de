"""NumPy references the library is checked against, written independently of it."""

import numpy as np


def numpy_soft_threshold(x, t):
    return np.sign(x) * np.maximum(np.abs(x) - t, 0.0)


def numpy_sparse_group_prox(theta, t, alpha, beta, size):
    """Simon et al. (2013) closed form, written independently per group (columns)."""
    out = np.zeros_like(theta)
    for j in range(theta.shape[1]):
        s = numpy_soft_threshold(theta[:, j], t * alpha * beta)
        norm = np.linalg.norm(s)
        scale = max(0.0, 1.0 - t * (1 - alpha) * beta * np.sqrt(size) / norm) if norm > 0 else 0.0
        out[:, j] = scale * s
    return out


def sgl_objective(z, x, t, alpha, beta, size):
    group = np.sum(np.linalg.norm(z, axis=0))
    penalty = (1 - alpha) * beta * np.sqrt(size) * group + alpha * beta * np.sum(np.abs(z))
    return 0.5 * np.sum((z - x) ** 2) + t * penalty
