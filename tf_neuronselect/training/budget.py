"""A size budget instead of a strength: a controller on the penalty strengths.

Penalties read ``strength`` as a Python float when the train step is traced, so the
controller changes the floats and forces a retrace (``make_train_function(force=True)``, about
one trace per change). That is robust for every penalty and optimizer as they are: making the
strength a variable would need every penalty, the proximal optimizers and saved configs to
change, and a retrace per epoch costs far less than an epoch.
"""

import math
import warnings

import keras

from tf_neuronselect.callbacks import model_size
from tf_neuronselect.selection.dead import to_numpy
from tf_neuronselect.training.strengths import KNOBS
from tf_neuronselect.training.strengths import penalties
from tf_neuronselect.training.strengths import scale_strengths
from tf_neuronselect.training.strengths import strength_of
from tf_neuronselect.utils.validation import validate_non_negative_float


def _validate_target(params, macs):
    if (params is None) == (macs is None):
        raise ValueError(
            "SizeBudget: expected exactly one target, `params` or `macs`. Received: "
            f"params={params!r}, macs={macs!r}. How to fix: pass e.g. SizeBudget(params=50_000)."
        )
    key, value = ("params", params) if params is not None else ("macs", macs)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"SizeBudget: expected `{key}` to be a positive int. Received: {key}={value!r}."
        )
    return key, value


class SizeBudget(keras.callbacks.Callback):
    """Adapts every penalty strength so the model lands within ``tolerance`` of a size target.

    After every ``every_n_epochs`` epochs it measures the size ``tf_neuronselect.shrink`` would
    give now (``params`` = its ``count_params()``, ``macs`` = multiply-adds per example of its
    Dense/Conv-like layers) and multiplies all strengths (keeping their per-layer ratios) by
    ``max_factor``, 1 or ``1 / max_factor``. With ``d = log(size / target)`` (the distance
    left) and ``p = log(previous size / size)`` (the last update's progress):

    - ``d > tolerance / 2`` (too big): if ``p >= d`` the current pace reaches the target within
      an update, so back off; if ``p >= d / 3`` it arrives within three, so hold; else push.
    - ``|d| <= tolerance / 2`` (on target): hold, or back off twice if the size is still
      falling.
    - ``d < -tolerance / 2`` (too small): back off; group-lasso units can grow back, Gate units
      with theta <= 0 cannot, and a layer that lost every unit cannot recover at all.

    Units die some steps after the strength that kills them is set, which is why the
    controller steers by the pace of shrinking and never jumps: a proportional update on
    ``size / target`` overshoots into an all-dead network. Near the critical strength units
    still die in cascades, so the controller keeps a snapshot (weights and optimizer state)
    from its last update at which the model was not below the band; landing below it
    (``size < (1 - tolerance) * target``) restores that snapshot at ``1 / max_factor`` of its
    strength ("rollback", at most ``max_rollbacks`` times), trading a few repeated steps for
    an overshoot that dead units could never undo. Use it with ``model.fit`` or in
    ``fit_with_shrinking``'s callbacks; ``history`` gets ``budget_ratio`` and
    ``strength_scale`` per epoch, ``self.log`` the same per update.

    Args:
        params / macs: the target, exactly one of them.
        tolerance: accepted relative error (0.1: within 10%).
        max_factor: change of the strengths per update (> 1).
        every_n_epochs: epochs between updates.
        initial_strength: used for penalties whose strength is 0 (a multiplier cannot start
            from 0).
        tol: group-norm tolerance of the dead-unit test.
        max_rollbacks: how many overshoots may be undone.
    """

    def __init__(self, params=None, macs=None, tolerance=0.1, max_factor=2.0,
                 every_n_epochs=1, initial_strength=1e-4, tol=0.0, max_rollbacks=3):
        super().__init__()
        self.key, self.target = _validate_target(params, macs)
        self.tolerance = validate_non_negative_float(tolerance, "tolerance", "SizeBudget")
        self.max_factor = max(1.0, validate_non_negative_float(max_factor, "max_factor",
                                                               "SizeBudget"))
        self.every_n_epochs = max(1, int(every_n_epochs))
        self.initial_strength = validate_non_negative_float(initial_strength,
                                                            "initial_strength", "SizeBudget")
        self.tol = float(tol)
        self.max_rollbacks = int(max_rollbacks)
        self.rollbacks = 0
        self.scale = 1.0  # product of all updates so far
        self.log = []  # (epoch, size, scale after the update)
        self._previous = None
        self._snapshot = None

    def on_train_begin(self, logs=None):
        found = penalties(self.model)
        if not found:
            raise ValueError(
                "SizeBudget: expected penalties to adapt. Received: a model with no "
                "GroupLasso / SparseGroupLasso / DropNeuron / L1 penalty or Gate. How to fix: "
                "attach one with tf_neuronselect.add_penalty(model, GroupLasso(1e-4)) or use "
                "Gate layers (TriStateReLU's losses are not controlled)."
            )
        for _, _, penalty in found:
            if strength_of(penalty) == 0:
                for knob in KNOBS:
                    if hasattr(penalty, knob):
                        setattr(penalty, knob, self.initial_strength)
        self._snapshot = None  # a new chunk of fit_with_shrinking may bring a new model

    def size(self):
        """The current size on the budget's measure."""
        return model_size(self.model, self.tol)[self.key]

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs:
            return
        size = self.size()
        if size < (1.0 - self.tolerance) * self.target and self._can_roll_back():
            size = self._roll_back()
        else:
            self._update(size)
        self.log.append((epoch, size, self.scale))
        self._previous = size
        if logs is not None:
            logs["budget_ratio"] = size / self.target
            logs["strength_scale"] = self.scale

    def _update(self, size):
        self._rescale(self.factor(size))
        if size >= (1.0 - self.tolerance) * self.target:
            self._snapshot = self._take_snapshot(size)

    def _rescale(self, factor):
        if factor == 1.0:
            return
        scale_strengths(self.model, factor)
        self.scale *= factor
        # The strengths are Python floats baked into the traced step: trace it again.
        self.model.make_train_function(force=True)

    def _take_snapshot(self, size):
        optimizer = self.model.optimizer
        return {"model": self.model, "size": size, "scale": self.scale,
                "weights": [to_numpy(v) for v in self.model.variables],
                "optimizer": [to_numpy(v) for v in optimizer.variables]}

    def _can_roll_back(self):
        snapshot = self._snapshot
        return (snapshot is not None and snapshot["model"] is self.model
                and self.rollbacks < self.max_rollbacks)

    def _roll_back(self):
        """Restores the last snapshot and continues at a smaller strength; returns its size."""
        snapshot = self._snapshot
        for variable, value in zip(self.model.variables, snapshot["weights"]):
            variable.assign(value)
        for variable, value in zip(self.model.optimizer.variables, snapshot["optimizer"]):
            variable.assign(value)
        self.rollbacks += 1
        # Below the strength that overshot, and lower again at every further rollback.
        snapshot["scale"] = min(self.scale, snapshot["scale"]) / self.max_factor
        self._rescale(snapshot["scale"] / self.scale)
        return snapshot["size"]

    def factor(self, size):
        """The multiplicative strength update for the measured ``size``."""
        distance = math.log(max(size, 1) / self.target)
        progress = 0.0 if self._previous is None else math.log(self._previous / max(size, 1))
        band = self.tolerance / 2
        if distance < -band:
            return 1.0 / self.max_factor
        if distance <= band:
            # On target: stop the shrinking that is still under way (units die with a lag).
            return 1.0 / self.max_factor ** 2 if progress > 0 else 1.0
        if progress >= distance:
            return 1.0 / self.max_factor
        if progress >= distance / 3:
            return 1.0
        return self.max_factor

    def on_train_end(self, logs=None):
        size = self.size()
        self.met = abs(size / self.target - 1.0) <= self.tolerance
        if not self.met:
            warnings.warn(
                f"SizeBudget: the model ended at {self.key}={size}, target {self.target} "
                f"(+-{self.tolerance:.0%}). Train longer, raise `max_factor`, or start from a "
                "larger strength.", stacklevel=2)
