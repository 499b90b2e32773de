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
from tf_neuronselect.utils.validation import validate_non_negative_int

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


def _refuse_metric_free_penalties(optimizer_name, variables, targets):
    refused = [f"{variables[t.kernel].path} ({type(t.penalty).__name__})" for t in targets
               if type(t.penalty).metric_step is ProximalPenalty.metric_step]
    if refused:
        raise ValueError(
            f"{optimizer_name}(adaptive_prox=True): expected penalties with a prox under "
            "Adam's per-entry steps (L1, GroupLasso, SparseGroupLasso, unit-group penalties). "
            f"Received: {', '.join(refused)}. How to fix: pass adaptive_prox=False, or "
            "penalize these layers with one of those."
        )


class ProximalStepMixin:
    """Applies each variable's ``ProximalPenalty.prox`` with step = learning rate after the
    parent optimizer's ``update_step``."""

    def __init__(self, *args, prox_warmup_steps=0, **kwargs):
        parent = super()
        arguments = inspect.signature(parent.__init__).bind(*args, **kwargs).arguments
        validate_optimizer_arguments(arguments, type(self).__name__)
        warmup = validate_non_negative_int(prox_warmup_steps, "prox_warmup_steps",
                                           type(self).__name__)
        parent.__init__(*args, **kwargs)
        self.prox_warmup_steps = int(warmup)

    def get_config(self):
        config = super().get_config()
        config["prox_warmup_steps"] = self.prox_warmup_steps
        return config

    def build(self, variables):
        super().build(variables)
        self._prox_targets, unknown = plan_prox_targets(variables)
        single = [t for t in self._prox_targets.values() if isinstance(t, ProxTarget)]
        self._penalty_of = {t.kernel: t.penalty for t in single}
        for target in single:
            target.penalty.handled_proximally = True
        if self._prox_metric_enabled():
            _refuse_metric_free_penalties(type(self).__name__, variables, single)
        if unknown:
            _warn_unknown(type(self).__name__, unknown)

    def _prox_step(self, learning_rate):
        # A linear ramp of the prox over the first steps: at the start the loss gradients are
        # not yet the ones of a trained unit, so a full-strength prox could kill any unit.
        if not self.prox_warmup_steps:
            return learning_rate
        step = keras.ops.cast(self.iterations + 1, "float32")
        ramp = keras.ops.minimum(1.0, step / float(self.prox_warmup_steps))
        return keras.ops.cast(learning_rate, "float32") * ramp

    def _prox_metric_enabled(self):
        """Whether the prox steps use ``_prox_metric`` (a subclass's choice)."""
        return False

    def _prox_metric(self, member_index, member):
        """Each entry's denominator of the optimizer's step for the variable at
        ``member_index`` (``member``: its value in this update), when enabled."""
        raise NotImplementedError

    def update_step(self, gradient, variable, learning_rate):
        index = keras_private.variable_index(self, variable)
        gradient = self._without_traced_penalty(gradient, variable, index)
        super().update_step(gradient, variable, learning_rate)
        target = self._prox_targets.get(index)
        if isinstance(target, JointTarget):
            self._apply_joint_prox(target, index, variable, self._prox_step(learning_rate))
        elif target is not None:
            self._apply_prox(target, index, variable, self._prox_step(learning_rate))

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
        if self._prox_metric_enabled():
            step = target.penalty.metric_step(
                step, self._prox_metric(target.kernel, kernel),
                None if bias is None else self._prox_metric(target.bias, bias))
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
        metrics = ([self._prox_metric(i, m) for i, m in zip(target.members, members)]
                   if self._prox_metric_enabled() else None)
        new_values = joint_group_prox(values, target.penalties, learning_rate, metrics)
        for member, value in zip(members, new_values):
            self.assign(member, value)
