"""Group lasso and sparse group lasso over each unit's weights (Alvarez & Salzmann 2016)."""

import math

from keras import ops

from tf_neuronselect import grouping
from tf_neuronselect.api_export import neuronselect_export
from tf_neuronselect.ops.proximal import group_soft_threshold
from tf_neuronselect.ops.proximal import soft_threshold
from tf_neuronselect.regularizers.base import ProximalPenalty
from tf_neuronselect.regularizers.unit_groups import group_directions
from tf_neuronselect.regularizers.unit_groups import sum_of_group_norms
from tf_neuronselect.utils.validation import validate_choice
from tf_neuronselect.utils.validation import validate_non_negative_float
from tf_neuronselect.utils.validation import validate_unit_interval


def _resolve_include_bias(include_bias, groups, owner):
    if include_bias is None:
        return groups == grouping.INCOMING
    if not isinstance(include_bias, bool):
        raise TypeError(
            f"{owner}: expected `include_bias` to be True, False or None. "
            f"Received: include_bias={include_bias!r}. Pass a bool, or None for the default "
            "(True for incoming groups)."
        )
    if include_bias and groups == grouping.OUTGOING:
        raise ValueError(
            f"{owner}: include_bias=True needs groups='incoming' (a bias belongs to the unit "
            "it feeds, not to an input's outgoing weights). Received: groups='outgoing'. "
            "Pass include_bias=False or leave it as None."
        )
    return include_bias


@neuronselect_export
class SparseGroupLasso(ProximalPenalty):
    """Sparse group lasso per unit: ``(1 - alpha) * GroupLasso + alpha * strength * ||W||_1``.

    .. math::
        \\gamma(W) = (1 - \\alpha) \\beta \\sqrt{P} \\sum_n \\|W_n\\|_2 + \\alpha \\beta \\|W\\|_1

    where ``W_n`` is unit ``n``'s group and ``P`` the number of kernel weights in a group. With a
    proximal optimizer the update is the closed form of Simon et al. (2013)::

        W_n <- (1 - t (1 - alpha) beta sqrt(P) / ||S(W_n, t alpha beta)||)_+ S(W_n, t alpha beta)

    with ``S`` the soft threshold and ``t`` the learning rate, which gives exact zeros.

    Args:
        strength: ``beta``, a non-negative float.
        alpha: mix in [0, 1]: 0 is the pure group lasso, 1 the pure lasso.
        groups: ``"incoming"`` (a unit's incoming weights: columns of a Dense kernel, the default)
            or ``"outgoing"`` (an input unit's outgoing weights: rows of a Dense kernel).
        layout: the kernel layout, see ``tf_neuronselect.grouping``: ``"standard"`` for Dense,
            Conv and pointwise kernels, ``"transposed"`` for ConvTranspose, ``"depthwise"`` for
            depthwise kernels. ``tf_neuronselect.add_penalty`` picks it from the layer type.
        include_bias: whether a proximal optimizer puts the layer's bias into each unit's group
            (the paper's ``theta = [w, b]``), so a dead unit's bias is zeroed too. None (default)
            means True for incoming groups. Plain Keras optimizers only see the kernel.
        scale_by_group_size: multiply by ``sqrt(P)`` as in the paper (default True). DropNeuron's
            li/lo penalties use no such factor.
    """

    def __init__(self, strength=1e-3, alpha=0.5, groups="incoming", layout="standard",
                 include_bias=None, scale_by_group_size=True):
        super().__init__()
        owner = type(self).__name__
        self.strength = validate_non_negative_float(strength, "strength", owner)
        self.alpha = validate_unit_interval(alpha, "alpha", owner)
        self.groups = validate_choice(groups, "groups", grouping.SIDES, owner)
        self.layout = validate_choice(layout, "layout", grouping.LAYOUTS, owner)
        self.include_bias = _resolve_include_bias(include_bias, self.groups, owner)
        self.scale_by_group_size = bool(scale_by_group_size)

    def _group_weight(self, shape):
        size = grouping.group_size(tuple(shape), self.layout, self.groups)
        return math.sqrt(size) if self.scale_by_group_size else 1.0

    def nonsmooth_penalty(self, x):
        group_term = ((1.0 - self.alpha) * self._group_weight(x.shape)
                      * sum_of_group_norms(x, self.layout, self.groups))
        l1_term = self.alpha * ops.sum(ops.abs(x))
        return ops.cast(self.strength, x.dtype) * (group_term + l1_term)

    def nonsmooth_gradient(self, x):
        group_part = group_directions(x, self.layout, self.groups)
        group_scale = (1.0 - self.alpha) * self._group_weight(x.shape)
        return self.strength * (group_scale * group_part + self.alpha * ops.sign(x))

    def prox(self, x, step, bias=None):
        matrix = grouping.unit_matrix(x, self.layout, self.groups)
        with_bias = bias is not None and self.include_bias
        if with_bias:
            matrix = ops.concatenate([matrix, ops.reshape(bias, (1, -1))], axis=0)
        l1_threshold = step * self.alpha * self.strength
        group_threshold = step * (1.0 - self.alpha) * self.strength * self._group_weight(x.shape)
        matrix = group_soft_threshold(soft_threshold(matrix, l1_threshold), group_threshold, 0)
        if with_bias:
            bias = ops.reshape(matrix[-1], ops.shape(bias))
            matrix = matrix[:-1]
        return grouping.from_unit_matrix(matrix, tuple(x.shape), self.layout, self.groups), bias

    def metric_step(self, step, metric, bias_metric=None):
        # A group's prox under a diagonal metric has no closed form: each unit takes the step
        # of its group's mean denominator, a (1, units) row that ``prox`` broadcasts.
        matrix = grouping.unit_matrix(metric, self.layout, self.groups)
        if bias_metric is not None and self.include_bias:
            matrix = ops.concatenate([matrix, ops.reshape(bias_metric, (1, -1))], axis=0)
        return step / ops.mean(matrix, axis=0, keepdims=True)

    def get_config(self):
        return {
            "strength": self.strength,
            "alpha": self.alpha,
            "groups": self.groups,
            "layout": self.layout,
            "include_bias": self.include_bias,
            "scale_by_group_size": self.scale_by_group_size,
        }


@neuronselect_export
class GroupLasso(SparseGroupLasso):
    """Group lasso per unit: ``strength * sqrt(P) * sum_n ||W_n||_2`` (Alvarez & Salzmann 2016).

    ``SparseGroupLasso`` with ``alpha=0``; see it for the arguments. Outgoing groups
    (``groups="outgoing"``, the rows of the next layer's kernel) remove the *input* units of a
    layer, which is DropNeuron's ``lo`` when ``scale_by_group_size=False``.
    """

    def __init__(self, strength=1e-3, groups="incoming", layout="standard", include_bias=None,
                 scale_by_group_size=True):
        super().__init__(strength, 0.0, groups, layout, include_bias, scale_by_group_size)

    def get_config(self):
        config = super().get_config()
        del config["alpha"]
        return config
