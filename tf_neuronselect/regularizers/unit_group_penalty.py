"""A sparse group lasso whose groups span several variables: the unit groups of
``tf_neuronselect.analysis.groups`` (a convolution's output column and bias, the following
BatchNorm's gamma and beta, the depthwise channel after it, a residual partner's column, ...).

Each variable of a group set carries a ``UnitGroupPenalty`` saying which of its units belong to
which group of the set (``group_ids``; -1 for units outside the set). ``ProximalSGD`` and
``ProximalAdam`` gather the variables of a set and apply ``joint_group_prox`` once per step,
after all of them have taken their gradient step: the closed form of Simon et al. (2013) with
every group's norm taken over all its slices, so a group reaches exactly zero in every variable
at once. The penalty is applied by the proximal optimizers only: its loss term is 0 (the group
norm is not a sum over variables, so a plain optimizer has nothing per variable to follow).
"""

import keras
import numpy as np
from keras import ops

from tf_neuronselect import grouping
from tf_neuronselect.api_export import neuronselect_export
from tf_neuronselect.ops.proximal import norms_from_squares
from tf_neuronselect.ops.proximal import soft_threshold
from tf_neuronselect.utils.validation import validate_bool
from tf_neuronselect.utils.validation import validate_choice
from tf_neuronselect.utils.validation import validate_non_negative_float
from tf_neuronselect.utils.validation import validate_unit_interval


def _validate_group_ids(group_ids):
    if isinstance(group_ids, (str, bytes)) or not all(
            isinstance(i, (int, np.integer)) and not isinstance(i, bool) and i >= -1
            for i in group_ids):
        raise ValueError(
            "UnitGroupPenalty: expected `group_ids` to be a sequence of ints >= -1 (a group "
            f"index per unit, -1 outside the set). Received: group_ids={group_ids!r}. How to "
            "fix: attach unit-group penalties with tf_neuronselect.add_penalty(model, penalty, "
            "over='unit_groups')."
        )
    return [int(i) for i in group_ids]


@neuronselect_export
class UnitGroupPenalty(keras.regularizers.Regularizer):
    """One variable's share of a sparse group lasso over unit groups (see the module doc).

    Args:
        strength: ``beta``, a non-negative float (the same in every member of a set).
        alpha: L1 share in [0, 1] (0: group lasso).
        set_name: the group set this variable belongs to (one per ``add_penalty`` call).
        layout, side: how ``grouping`` indexes this variable's units.
        group_ids: the set's group index of each unit, -1 for units outside the set.
        scale_by_group_size: weigh each group by the square root of its size, as
            ``GroupLasso`` does.
    """

    def __init__(self, strength=1e-3, alpha=0.0, set_name="", layout="standard",
                 side="incoming", group_ids=(), scale_by_group_size=True):
        owner = "UnitGroupPenalty"
        self.strength = validate_non_negative_float(strength, "strength", owner)
        self.alpha = validate_unit_interval(alpha, "alpha", owner)
        self.set_name = str(set_name)
        self.layout = validate_choice(layout, "layout", grouping.LAYOUTS, owner)
        self.side = validate_choice(side, "side", grouping.SIDES, owner)
        self.group_ids = _validate_group_ids(group_ids)
        self.scale_by_group_size = validate_bool(scale_by_group_size, "scale_by_group_size",
                                                 owner)

    def __call__(self, x):
        return ops.zeros((), dtype="float32")

    def get_config(self):
        return {"strength": self.strength, "alpha": self.alpha, "set_name": self.set_name,
                "layout": self.layout, "side": self.side, "group_ids": list(self.group_ids),
                "scale_by_group_size": self.scale_by_group_size}


def _set_layout(shapes, penalties):
    """Per member: unit ids with -1 mapped to an extra segment; the number of groups; and every
    group's size (parameters over all members). Static: read from the configs and shapes."""
    count = 1 + max(max(p.group_ids, default=-1) for p in penalties)
    sizes = np.zeros(count + 1)
    ids = []
    for shape, penalty in zip(shapes, penalties):
        unit_ids = np.asarray(penalty.group_ids, dtype=np.int64)
        unit_ids = np.where(unit_ids < 0, count, unit_ids)
        np.add.at(sizes, unit_ids, grouping.group_size(shape, penalty.layout, penalty.side))
        ids.append(unit_ids)
    return ids, count, sizes[:count]


def _group_totals(matrix, unit_ids, count):
    """Each group's sum of the entries of ``matrix`` (``(group_size, units)``), plus one slot
    (index ``count``) for the units outside the set."""
    return ops.segment_sum(ops.sum(matrix, axis=0), ops.convert_to_tensor(unit_ids), count + 1)


def joint_group_prox(values, penalties, step, metrics=None):
    """The proximal step of size ``step`` of a unit-group set on all its member ``values``
    (one tensor per member, in the order of ``penalties``); returns the new values.

    ``metrics`` (one tensor per member, shaped like it): each entry's denominator of the
    optimizer's step (Adam's ``sqrt(v_hat) + epsilon``). The L1 part then thresholds each entry
    by ``step / metric`` (exact: it is separable) and the group part each group by ``step``
    over the group's mean metric (a group's prox under a diagonal metric has no closed form).
    """
    leader = penalties[0]
    shapes = [tuple(v.shape) for v in values]
    ids, count, sizes = _set_layout(shapes, penalties)
    step = ops.cast(step, "float32")
    weights = np.sqrt(sizes) if leader.scale_by_group_size else np.ones(count)
    matrices, squared, metric_sums = [], ops.zeros((count + 1,)), ops.zeros((count + 1,))
    for i, (value, penalty, unit_ids) in enumerate(zip(values, penalties, ids)):
        matrix = grouping.unit_matrix(ops.cast(value, "float32"), penalty.layout, penalty.side)
        entry_step = step
        if metrics is not None:
            metric = grouping.unit_matrix(ops.cast(metrics[i], "float32"), penalty.layout,
                                          penalty.side)
            metric_sums = metric_sums + _group_totals(metric, unit_ids, count)
            entry_step = step / metric
        if leader.alpha:
            in_set = ops.convert_to_tensor((unit_ids < count)[None, :])
            matrix = ops.where(in_set, soft_threshold(matrix, entry_step * leader.alpha
                                                      * leader.strength), matrix)
        squared = squared + _group_totals(ops.square(matrix), unit_ids, count)
        matrices.append(matrix)
    norms = norms_from_squares(squared[:count])
    if metrics is not None:
        step = step * ops.cast(sizes, "float32") / metric_sums[:count]
    threshold = step * (1.0 - leader.alpha) * leader.strength * ops.cast(weights, "float32")
    scale = ops.concatenate([ops.relu(1.0 - threshold / norms), ops.ones((1,))])
    return [ops.cast(grouping.from_unit_matrix(matrix * ops.take(scale, unit_ids)[None, :],
                                               shape, penalty.layout, penalty.side),
                     value.dtype)
            for matrix, unit_ids, shape, penalty, value
            in zip(matrices, ids, shapes, penalties, values)]
