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


def numpy_joint_group_prox(slices, ids, step, strength, alpha, metrics=None):
    """A unit-group set's prox: each group's entries over all slices (``ids[k]``: the group
    of each unit, the last axis, of slice k) soft-thresholded by ``step * alpha * strength``
    (over each entry's metric, if given), then shrunk towards zero by ``step * (1 - alpha) *
    strength * sqrt(group size)`` (``step`` over the group's mean metric, if given)."""
    flat = [np.asarray(s, dtype=np.float64).copy() for s in slices]
    metrics = metrics or [np.ones_like(s) for s in flat]
    for group in range(max(max(i) for i in ids) + 1):
        members = [(k, np.flatnonzero(np.asarray(i) == group)) for k, i in enumerate(ids)]
        values = np.concatenate([flat[k][..., u].ravel() for k, u in members])
        metric = np.concatenate([metrics[k][..., u].ravel() for k, u in members])
        values = numpy_soft_threshold(values, step * alpha * strength / metric)
        norm = np.linalg.norm(values)
        threshold = step / metric.mean() * (1 - alpha) * strength * np.sqrt(values.size)
        scale = max(0.0, 1 - threshold / norm) if norm else 0.0
        offset = 0
        for k, units in members:
            part = flat[k][..., units]
            flat[k][..., units] = (values[offset:offset + part.size] * scale).reshape(part.shape)
            offset += part.size
    return flat
