"""The group terms every per-unit penalty shares, on a weight of any layout: the sum of the
units' group norms, its gradient, and the group prox (``grouping`` knows the layouts,
``ops.proximal`` the math)."""

from keras import ops

from tf_neuronselect import grouping
from tf_neuronselect.ops.proximal import group_norms
from tf_neuronselect.ops.proximal import group_soft_threshold


def sum_of_group_norms(x, layout, side):
    """``sum_n ||x_n||`` over the groups of ``x`` on ``side`` (one group per unit)."""
    return ops.sum(group_norms(grouping.unit_matrix(x, layout, side), axis=0))


def group_directions(x, layout, side):
    """Gradient of ``sum_of_group_norms``: each group divided by its norm (0 for zero groups)."""
    matrix = grouping.unit_matrix(x, layout, side)
    directions = matrix / group_norms(matrix, axis=0, keepdims=True)
    return grouping.from_unit_matrix(directions, tuple(x.shape), layout, side)


def group_prox(x, threshold, layout, side):
    """Prox of ``threshold * sum_of_group_norms``: whole groups reach exactly zero."""
    matrix = group_soft_threshold(grouping.unit_matrix(x, layout, side), threshold, 0)
    return grouping.from_unit_matrix(matrix, tuple(x.shape), layout, side)
