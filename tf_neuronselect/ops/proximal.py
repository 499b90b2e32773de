"""Closed-form proximal operators as pure ``keras.ops`` functions.

Every operator has the signature ``prox(x, threshold, axis)``: it returns
``argmin_z 0.5 * ||z - x||^2 + threshold * g(z)`` for its penalty ``g``. ``threshold`` already
includes the step size (``learning_rate * strength``). ``axis`` names the axes a group spans; the
element-wise operators accept it for a uniform signature and ignore it.
"""

from keras import ops

# Below this group norm a group is treated as zero; avoids 0/0 without moving any real group.
_TINY_NORM = 1e-30


def soft_threshold(x, threshold, axis=None):
    """Prox of ``threshold * ||x||_1``: ``sign(x) * max(|x| - threshold, 0)`` (exact zeros)."""
    del axis
    threshold = ops.cast(threshold, x.dtype)
    shrunk = ops.relu(ops.abs(x) - threshold)
    return ops.sign(x) * shrunk


def group_soft_threshold(x, threshold, axis=0):
    """Prox of ``threshold * sum_g ||x_g||_2`` where each group spans ``axis``.

    ``x_g * max(0, 1 - threshold / ||x_g||)``: a whole group becomes exactly zero once its norm
    is at most ``threshold``.
    """
    threshold = ops.cast(threshold, x.dtype)
    norm = ops.sqrt(ops.sum(ops.square(x), axis=axis, keepdims=True))
    safe_norm = ops.maximum(norm, ops.cast(_TINY_NORM, x.dtype))
    scale = ops.relu(1.0 - threshold / safe_norm)
    return x * scale
