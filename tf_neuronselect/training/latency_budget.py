"""A measured-latency budget: the strengths are steered by the latency of the model ``shrink``
would give now.

Training code does not import TensorFlow, so the timing itself is a *timer* object: by default
``tf_neuronselect.exporting.TFLiteTimer`` (float32 TFLite file timed with LiteRT), which the
package root registers with ``set_default_timer`` (importing any part of tf_neuronselect runs
the root first). A timer provides ``set_reference(model)``, ``milliseconds(model)``,
``ratio(model)`` (against the reference) and ``close()``.
"""

import statistics

from tf_neuronselect.surgery.rewrite import shrink
from tf_neuronselect.training.budget import BudgetController
from tf_neuronselect.utils.validation import validate_positive_int

_DEFAULT_TIMER = {}


def set_default_timer(factory):
    """Makes ``factory(batch_size, num_threads, rounds, iterations)`` the timer every
    ``LatencyBudget`` without ``timer=`` uses."""
    if not callable(factory):
        raise TypeError(f"set_default_timer: expected a callable. Received: {factory!r}.")
    _DEFAULT_TIMER["factory"] = factory


def default_timer():
    """The registered default timer factory (see ``set_default_timer``)."""
    return _timer_factory(None)


def _timer_factory(timer):
    if timer is not None:
        return timer
    if "factory" not in _DEFAULT_TIMER:
        raise ValueError(
            "LatencyBudget: expected a timer. Received: timer=None and no default timer is "
            "registered. How to fix: import tf_neuronselect (it registers the TFLite timer), "
            "or pass timer=tf_neuronselect.exporting.TFLiteTimer."
        )
    return _DEFAULT_TIMER["factory"]


def _validate_target(milliseconds, fraction):
    if (milliseconds is None) == (fraction is None):
        raise ValueError(
            "LatencyBudget: expected exactly one target, `milliseconds` or `fraction`. "
            f"Received: milliseconds={milliseconds!r}, fraction={fraction!r}. How to fix: "
            "pass e.g. LatencyBudget(fraction=0.3) (of the model's latency when training "
            "starts) or LatencyBudget(milliseconds=0.05)."
        )
    key, value = ("milliseconds", milliseconds) if fraction is None else ("fraction", fraction)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(
            f"LatencyBudget: expected `{key}` to be a positive number. Received: "
            f"{key}={value!r}. How to fix: time the dense model first, e.g. "
            "tflite_latency_ms(model), and ask for a fraction of it."
        )
    return ("latency_ms" if fraction is None else "latency_fraction"), float(value)


def _signature(model):
    """What latency depends on: every layer's type and weight shapes (not the values)."""
    return tuple((type(layer).__name__, tuple(tuple(w.shape) for w in layer.weights))
                 for layer in model.layers)


class LatencyBudget(BudgetController):
    """A latency target: ``LatencyBudget(milliseconds=0.05)`` or ``LatencyBudget(fraction=0.3)``.

    At each update the model is shrunk (``tf_neuronselect.shrink``, stock layers only),
    converted to a float32 TFLite file and timed with LiteRT on this machine (median of
    ``rounds`` rounds of ``iterations`` calls at ``batch_size``). With ``fraction`` the
    target is relative to the model as it was when training started: that reference file is
    timed in the same interleaved rounds at every update and the size is the median of the
    per-round ratios, so a machine that gets busier or quieter during training moves both
    timings alike (prefer it on shared machines; ``milliseconds`` is an absolute target and
    moves with the load). Measurements of an architecture that did not change since the
    last update are pooled (median of all of them), so noise alone cannot move the size. An
    update costs a conversion (about a second for LeNet-5) plus the timing, so prefer a few
    updates per epoch at most. Latency has a floor (interpreter overhead, the layers that
    cannot shrink): a target below it drives every removable unit out, and the controller's
    rollbacks then hold the model at the smallest size it reached above the band. See
    ``BudgetController`` for the control rule and the other arguments.

    Args:
        milliseconds, fraction: the target, exactly one of them.
        batch_size, num_threads, rounds, iterations: how the timer runs the model.
        timer: ``timer(batch_size, num_threads, rounds, iterations)`` builds the object that
            times models (default: the TFLite timer of ``tf_neuronselect.exporting``).
        **kwargs: ``BudgetController`` arguments.
    """

    def __init__(self, milliseconds=None, fraction=None, batch_size=1, num_threads=1,
                 rounds=5, iterations=50, timer=None, **kwargs):
        super().__init__(**kwargs)
        self.key, self.target = _validate_target(milliseconds, fraction)
        self.timing = {name: validate_positive_int(value, name, "LatencyBudget")
                       for name, value in (("batch_size", batch_size),
                                           ("num_threads", num_threads),
                                           ("rounds", rounds), ("iterations", iterations))}
        self.timer = _timer_factory(timer)(**self.timing)
        self._has_reference = False
        self._samples = {}  # architecture signature -> measurements

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self.key == "latency_fraction" and not self._has_reference:
            self.timer.set_reference(shrink(self.model, tol=self.tol))
            self._has_reference = True

    def size(self):
        """The median of every measurement of the current architecture: latency depends on
        the shapes only, so a model that did not change keeps pooling samples instead of
        jumping with the machine's load (which would trigger false rollbacks)."""
        compact = shrink(self.model, tol=self.tol)
        samples = self._samples.setdefault(_signature(compact), [])
        samples.append(self._measure(compact))
        return statistics.median(samples)

    def _measure(self, compact):
        if self._has_reference:
            return self.timer.ratio(compact)
        return self.timer.milliseconds(compact)

    def on_train_end(self, logs=None):
        super().on_train_end(logs)
        self.timer.close()
        self._has_reference = False
