"""What the proximal optimizers do after the ordinary update: one closed-form prox per penalty.

``ProximalSGD`` and ``ProximalAdam`` share this mixin; it overrides ``build`` and
``update_step``, the documented hooks of ``keras.optimizers.Optimizer``, and ``__init__`` only
to check the hyperparameters Keras leaves unchecked.
"""

import dataclasses
import inspect
import warnings

import keras

from tf_neuronselect import grouping
from tf_neuronselect.optimizers.hyperparameters import validate_optimizer_arguments
from tf_neuronselect.regularizers.base import ProximalPenalty
from tf_neuronselect.regularizers.unit_group_penalty import UnitGroupPenalty
from tf_neuronselect.regularizers.unit_group_penalty import joint_group_prox
from tf_neuronselect.utils import keras_private

# Smooth penalties are exact as ordinary loss terms; nothing to warn about.
_SMOOTH_KERAS_REGULARIZERS = (keras.regularizers.L2,)


@dataclasses.dataclass(frozen=True)
class ProxTarget:
    """One proximal step: ``penalty`` on variable ``kernel``, with ``bias`` in its groups."""

    penalty: ProximalPenalty
    kernel: int
    bias: int | None


@dataclasses.dataclass(frozen=True)
class JointTarget:
    """One proximal step of a unit-group set: ``penalties[i]`` on variable ``members[i]``."""

    members: tuple
    penalties: tuple


def _parent_path(variable):
    return variable.path.rsplit("/", 1)[0] if "/" in variable.path else ""


def _find_unit_bias(variables, index, penalty):
    """Index of the bias that belongs to the units of ``variables[index]``, if any.

    The bias is the sibling variable named ``bias`` of the same layer with one entry per unit;
    among several (nested models can repeat paths) the nearest one in the list wins.
    """
    kernel = variables[index]
    units = grouping.num_units(tuple(kernel.shape), penalty.layout, grouping.INCOMING)
    wanted = _parent_path(kernel) + "/bias" if _parent_path(kernel) else "bias"
    candidates = [
        j for j, v in enumerate(variables)
        if j != index and v.path == wanted and tuple(v.shape) == (units,)
    ]
    return min(candidates, key=lambda j: abs(j - index)) if candidates else None


def plan_prox_targets(variables):
    """Maps the index at which each prox fires to its ``ProxTarget``, plus unknown regularizers.

    A prox whose group spans a kernel and a bias fires at whichever of the two is updated last,
    so both have taken their gradient step first.
    """
    targets, unknown, sets = {}, [], {}
    for index, variable in enumerate(variables):
        penalty = getattr(variable, "regularizer", None)
        if isinstance(penalty, UnitGroupPenalty):
            sets.setdefault(penalty.set_name, []).append((index, penalty))
            continue
        if penalty is None:
            continue
        if not isinstance(penalty, ProximalPenalty):
            if not isinstance(penalty, _SMOOTH_KERAS_REGULARIZERS):
                unknown.append((variable.path, type(penalty).__name__))
            continue
        bias = _find_unit_bias(variables, index, penalty) if penalty.include_bias else None
        targets[max(index, bias if bias is not None else -1)] = ProxTarget(penalty, index, bias)
    for members in sets.values():
        # All members take their gradient step first: the set fires at its last variable.
        indices, penalties = zip(*members)
        targets[max(indices)] = JointTarget(indices, penalties)
    return targets, unknown


def _warn_unknown(optimizer_name, unknown):
    listed = ", ".join(f"{path} ({name})" for path, name in unknown)
    warnings.warn(
        f"{optimizer_name}: no proximal step is known for the regularizers of {listed}; they "
        "are applied as ordinary loss terms (subgradient), which rarely gives exact zeros. "
        "Use a tf_neuronselect penalty (GroupLasso, SparseGroupLasso, DropNeuron, L1) for "
        "exact zeros.",
        stacklevel=3,
    )


class ProximalStepMixin:
    """Applies each variable's ``ProximalPenalty.prox`` with step = learning rate after the
    parent optimizer's ``update_step``."""

    def __init__(self, *args, **kwargs):
        parent = super()
        arguments = inspect.signature(parent.__init__).bind(*args, **kwargs).arguments
        validate_optimizer_arguments(arguments, type(self).__name__)
        parent.__init__(*args, **kwargs)

    def build(self, variables):
        super().build(variables)
        self._prox_targets, unknown = plan_prox_targets(variables)
        single = [t for t in self._prox_targets.values() if isinstance(t, ProxTarget)]
        self._penalty_of = {t.kernel: t.penalty for t in single}
        for target in single:
            target.penalty.handled_proximally = True
        if unknown:
            _warn_unknown(type(self).__name__, unknown)

    def update_step(self, gradient, variable, learning_rate):
        index = keras_private.variable_index(self, variable)
        gradient = self._without_traced_penalty(gradient, variable, index)
        super().update_step(gradient, variable, learning_rate)
        target = self._prox_targets.get(index)
        if isinstance(target, JointTarget):
            self._apply_joint_prox(target, index, variable, learning_rate)
        elif target is not None:
            self._apply_prox(target, index, variable, learning_rate)

    def _without_traced_penalty(self, gradient, variable, index):
        # Keras builds the optimizer inside the first traced step, after that step's loss was
        # traced with the whole penalty: take its (sub)gradient back out so the prox is exact.
        penalty = self._penalty_of.get(index)
        if penalty is None or not penalty.in_last_loss:
            return gradient
        value = keras.ops.convert_to_tensor(variable)
        correction = penalty.nonsmooth_gradient(keras.ops.cast(value, "float32"))
        return gradient - keras.ops.cast(correction, gradient.dtype)

    def _member(self, member_index, index, variable):
        # The variable being updated arrives unwrapped (one replica's component under
        # tf.distribute); the other member is read through its Keras variable, which yields the
        # same replica's component inside the update context.
        if member_index == index:
            return variable
        return keras_private.optimizer_variables(self)[member_index]

    def _apply_prox(self, target, index, variable, learning_rate):
        kernel = self._member(target.kernel, index, variable)
        bias = None if target.bias is None else self._member(target.bias, index, variable)
        step = keras.ops.cast(learning_rate, kernel.dtype)
        new_kernel, new_bias = target.penalty.prox(
            keras.ops.convert_to_tensor(kernel), step,
            None if bias is None else keras.ops.convert_to_tensor(bias),
        )
        self.assign(kernel, new_kernel)
        if bias is not None:
            self.assign(bias, new_bias)

    def _apply_joint_prox(self, target, index, variable, learning_rate):
        members = [self._member(i, index, variable) for i in target.members]
        values = [keras.ops.convert_to_tensor(m) for m in members]
        new_values = joint_group_prox(values, target.penalties, learning_rate)
        for member, value in zip(members, new_values):
            self.assign(member, value)
