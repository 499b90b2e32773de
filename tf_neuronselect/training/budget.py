"""Budgets instead of strengths: a controller on the penalty strengths.

Penalties read ``strength`` as a Python float when the train step is traced, so the
controller changes the floats and forces a retrace (``make_train_function(force=True)``, about
one trace per change). That is robust for every penalty and optimizer as they are: making the
strength a variable would need every penalty, the proximal optimizers and saved configs to
change, and a retrace per update costs far less than the steps between updates.

``BudgetController`` is the controller; ``SizeBudget`` measures parameters or multiply-adds,
and ``tf_neuronselect.LatencyBudget`` (in ``exporting``: it converts to TFLite) measured
latency. A subclass only says what it measures (``size``).
"""

import math
import warnings

import keras

from tf_neuronselect.surgery.reporting import model_size
from tf_neuronselect.training.strengths import initialize_zero_strengths
from tf_neuronselect.training.strengths import scale_strengths
from tf_neuronselect.training.strengths import strength_knobs
from tf_neuronselect.utils.arrays import to_numpy
from tf_neuronselect.utils.steps import StepCounter
from tf_neuronselect.utils.validation import validate_non_negative_float
from tf_neuronselect.utils.validation import validate_non_negative_int
from tf_neuronselect.utils.validation import validate_positive_int


def _validate_target(params, macs):
    if (params is None) == (macs is None):
        raise ValueError(
            "SizeBudget: expected exactly one target, `params` or `macs`. Received: "
            f"params={params!r}, macs={macs!r}. How to fix: pass e.g. SizeBudget(params=50_000)."
        )
    key, value = ("params", params) if params is not None else ("macs", macs)
    return key, validate_positive_int(value, key, "SizeBudget", example=50_000)


def _validate_max_factor(value, owner):
    value = validate_non_negative_float(value, "max_factor", owner)
    if value <= 1.0:
        raise ValueError(
            f"{owner}: expected `max_factor` to be > 1 (the strengths change by up to that "
            f"factor per epoch). Received: max_factor={value!r}. How to fix: pass e.g. "
            "max_factor=2.0."
        )
    return value


class BudgetController(keras.callbacks.Callback):
    """Adapts every strength so that ``size()`` lands within ``tolerance`` of ``target``.

    Every ``every_n_epochs`` epochs (or, with ``every_n_steps``, every N training steps) it
    measures ``size()`` and multiplies all strengths (keeping their per-layer ratios) by
    ``max_factor``, 1 or ``1 / max_factor``. The strengths are those of the GroupLasso /
    SparseGroupLasso / DropNeuron / L1 penalties, of Gate layers, and the ``complexity`` of
    TriStateReLU layers. With ``d = log(size / target)`` (the distance left) and
    ``p = log(previous size / size)`` (the last update's progress):

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
    an overshoot that dead units could never undo. Updating every N steps instead of every
    epoch lets the controller stop a cascade sooner (each update costs a retrace and one
    measurement). Use it with ``model.fit`` or in ``fit_with_shrinking``'s callbacks;
    ``history`` gets ``budget_ratio`` and ``strength_scale`` per epoch, ``self.log``
    ``(epoch, step, size, scale)`` per update.

    Args:
        tolerance: accepted relative error (0.1: within 10%).
        max_factor: change of the strengths per epoch (> 1); with ``every_n_steps`` each
            update changes them by ``max_factor ** (every_n_steps / steps per epoch)``.
        every_n_epochs: epochs between updates (ignored when ``every_n_steps`` is set).
        every_n_steps: training steps between updates; None updates per epoch. Under
            ``steps_per_execution=k`` an update runs at the first execution boundary at or
            after each multiple, and scales by the steps actually done since the last one.
        initial_strength: used for penalties whose strength is 0 (a multiplier cannot start
            from 0).
        tol: group-norm tolerance of the dead-unit test.
        max_rollbacks: how many overshoots may be undone.
    """

    key = "size"
    target = 1.0
    # What ``size`` measures when it is not the fitted model itself (a distillation wrapper
    # trains a student): set by ``compress``.
    measured_model = None

    def __init__(self, tolerance=0.1, max_factor=2.0, every_n_epochs=1, every_n_steps=None,
                 initial_strength=1e-4, tol=0.0, max_rollbacks=3):
        super().__init__()
        owner = type(self).__name__
        self.tolerance = validate_non_negative_float(tolerance, "tolerance", owner)
        self.max_factor = _validate_max_factor(max_factor, owner)
        self.every_n_epochs = validate_positive_int(every_n_epochs, "every_n_epochs", owner)
        self.every_n_steps = validate_positive_int(every_n_steps, "every_n_steps", owner,
                                                   allow_none=True, example=50)
        self.initial_strength = validate_non_negative_float(initial_strength,
                                                            "initial_strength", owner)
        self.tol = validate_non_negative_float(tol, "tol", owner)
        self.max_rollbacks = validate_non_negative_int(max_rollbacks, "max_rollbacks", owner)
        self.rollbacks = 0
        self.scale = 1.0  # product of all updates so far
        self.log = []  # (epoch, step, size, scale after the update)
        self._previous = None
        self._snapshot = None
        self._epoch = 0
        self._steps = StepCounter()
        self._steps_at_update = 0
        self._last = None  # (size, scale) of the last update, for the epoch logs
        self._ceiling = math.inf  # scale that overshot: pushes stay below it

    def size(self):
        """The current size on the budget's measure (subclasses define it)."""
        raise NotImplementedError

    def on_train_begin(self, logs=None):
        if not strength_knobs(self.model):
            raise ValueError(
                f"{type(self).__name__}: expected penalties to adapt. Received: a model with "
                "no GroupLasso / SparseGroupLasso / DropNeuron / L1 penalty, Gate or "
                "TriStateReLU. How to fix: attach one with "
                "tf_neuronselect.add_penalty(model, GroupLasso(1e-4)) or use Gate layers."
            )
        initialize_zero_strengths(self.model, self.initial_strength)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._steps.begin_epoch()

    def on_train_batch_end(self, batch, logs=None):
        if self._steps.end_batch(batch, (self.params or {}).get("steps"), self.every_n_steps):
            self._step_controller()

    def on_epoch_end(self, epoch, logs=None):
        if not self.every_n_steps and (epoch + 1) % self.every_n_epochs == 0:
            self._step_controller()
        if logs is not None and self._last is not None:
            logs["budget_ratio"] = self._last[0] / self.target
            logs["strength_scale"] = self._last[1]

    def _step_controller(self):
        size = self.size()
        if size < (1.0 - self.tolerance) * self.target and self._can_roll_back():
            size = self._roll_back()
        else:
            self._update(size)
        self.log.append((self._epoch, self._steps.total, size, self.scale))
        self._steps_at_update = self._steps.total
        self._previous = size
        self._last = (size, self.scale)

    def _update(self, size):
        self._rescale(self.factor(size) ** self._update_fraction())
        if size >= (1.0 - self.tolerance) * self.target:
            self._snapshot = self._take_snapshot(size)

    def _rescale(self, factor):
        if factor > 1.0:
            factor = max(1.0, min(factor, self._ceiling / self.scale))
        if factor == 1.0:
            return
        scale_strengths(self.model, factor)
        self.scale *= factor
        # The strengths are Python floats baked into the traced step: trace it again.
        self.model.make_train_function(force=True)

    def _update_fraction(self):
        """The share of an epoch between updates: ``max_factor`` is a rate per epoch, so
        units get the same time to die whether the controller updates per epoch or per N
        steps (pushing x2 every few steps would outrun the lag and overshoot)."""
        steps = (self.params or {}).get("steps")
        if not self.every_n_steps or not steps:
            return 1.0
        # Steps since the last update, not every_n_steps: with steps_per_execution the
        # controller only runs at execution boundaries.
        since = self._steps.total - self._steps_at_update
        return min(1.0, (since or self.every_n_steps) / steps)

    def _take_snapshot(self, size):
        optimizer = self.model.optimizer
        return {"model": self.model, "size": size, "scale": self.scale,
                "weights": [to_numpy(v) for v in self.model.variables],
                "optimizer": [to_numpy(v) for v in optimizer.variables]}

    def _can_roll_back(self):
        snapshot = self._snapshot
        # A snapshot of an earlier (larger) model of fit_with_shrinking cannot be restored.
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
        # Below the strength that overshot, which becomes a ceiling for later pushes, and
        # with smaller steps: the target lies between the snapshot and the overshoot.
        self._ceiling = min(self._ceiling, self.scale) / self.max_factor
        snapshot["scale"] = min(self.scale, snapshot["scale"]) / self.max_factor
        self.max_factor = math.sqrt(self.max_factor)
        self._rescale(snapshot["scale"] / self.scale)
        return snapshot["size"]

    def factor(self, size):
        """The multiplicative strength update for the measured ``size``."""
        distance = math.log(max(size, 1e-12) / self.target)
        previous = self._previous
        progress = 0.0 if previous is None else math.log(previous / max(size, 1e-12))
        progress /= self._update_fraction()  # per epoch, like max_factor
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
                f"{type(self).__name__}: the model ended at {self.key}={size:g}, target "
                f"{self.target:g} (+-{self.tolerance:.0%}). Train longer, raise `max_factor`, "
                "update more often (`every_n_steps`), or start from a larger strength.",
                stacklevel=2)


class SizeBudget(BudgetController):
    """A parameter or multiply-add target: ``SizeBudget(params=50_000)`` or ``macs=...``.

    The size is what ``tf_neuronselect.shrink`` would give now: ``params`` its
    ``count_params()``, ``macs`` the multiply-adds per example of its Dense/Conv-like layers.
    See ``BudgetController`` for the control rule and the other arguments.
    """

    def __init__(self, params=None, macs=None, **kwargs):
        super().__init__(**kwargs)
        self.key, self.target = _validate_target(params, macs)

    def size(self):
        return model_size(self.measured_model or self.model, self.tol)[self.key]
