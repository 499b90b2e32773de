"""Closed-form proximal operators as pure ``keras.ops`` functions.

Every operator has the signature ``prox(x, threshold, axis)``: it returns
``argmin_z 0.5 * ||z - x||^2 + threshold * g(z)`` for its penalty ``g``. ``threshold`` already
includes the step size (``learning_rate * strength``). ``axis`` names the axes a group spans; the
element-wise operators accept it for a uniform signature and ignore it.
"""

from keras import ops

# Added to every squared group norm before the square root: the norm of an exactly-zero group
# is then 1e-15, not 0, so its gradient and the prox's division stay finite (no 0/0), while no
# real group moves (float32 cannot even see 1e-30 next to a squared norm above ~1e-23).
_TINY_SQUARED_NORM = 1e-30


def group_norms(x, axis=0, keepdims=False):
    """Euclidean norm of every group of ``x`` (a group spans ``axis``), guarded against 0/0."""
    return norms_from_squares(ops.sum(ops.square(x), axis=axis, keepdims=keepdims))


def norms_from_squares(squared):
    """``sqrt(squared)`` with the same guard as ``group_norms``: for groups whose squared norms
    were summed elsewhere (over several variables)."""
    return ops.sqrt(squared + ops.cast(_TINY_SQUARED_NORM, squared.dtype))


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
    scale = ops.relu(1.0 - threshold / group_norms(x, axis, keepdims=True))
    return x * scale
