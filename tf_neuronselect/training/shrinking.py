"""Training with periodic removal of dead units (ShrinkNets' "garbage collection").

Keras trains the model object it was given, and a callback cannot swap it, so
``fit_with_shrinking`` runs ``model.fit`` in chunks: fit ``shrink_every`` epochs -> plan ->
rebuild a smaller model that keeps its Gates and penalties -> compile it with a fresh optimizer
whose slots are sliced and whose step counter is copied -> fit the next chunk from
``initial_epoch``. With ``tol=0`` a removed unit contributed exactly nothing, so the smaller
model follows the same trajectory the big one would have, only faster.
"""

import keras

from tf_neuronselect.analysis.graph import ModelGraph
from tf_neuronselect.surgery.planner import make_plan
from tf_neuronselect.surgery.rewrite import keep_for_training
from tf_neuronselect.surgery.rewrite import rebuild
from tf_neuronselect.training.chunks import check_callbacks
from tf_neuronselect.training.transfer import compile_like
from tf_neuronselect.training.transfer import transfer_state
from tf_neuronselect.utils.validation import validate_non_negative_float
from tf_neuronselect.utils.validation import validate_positive_int


class ShrinkHistory(keras.callbacks.History):
    """The ``History`` of all chunks together, plus ``shrinks``: one dict per removal with
    ``epoch`` (epochs done before it), ``params_before``, ``params_after`` and ``units``
    (``{layer: (before, after)}`` for the layers that were narrowed)."""

    def __init__(self):
        super().__init__()
        self.epoch = []
        self.shrinks = []

    def extend(self, chunk):
        self.epoch += list(chunk.epoch)
        for key, values in chunk.history.items():
            self.history.setdefault(key, []).extend(values)


def shrink_for_training(model, tol=0.0, round_to=None, min_fraction=0.0):
    """The compiled smaller copy of a compiled ``model`` that can go on training.

    Dead units are removed as ``tf_neuronselect.shrink`` removes them, but Gate and
    TriStateReLU layers stay (narrowed) and every penalty stays on its kernel, so selection
    continues. The optimizer is rebuilt with its slots sliced the same way as the weights
    and its step counter copied.

    Args:
        model: a compiled Functional or Sequential model (see ``shrink``).
        tol: group-norm tolerance of the dead-unit test (0: exact removal only).
        round_to: keep Dense/Conv widths at multiples of it.
        min_fraction: skip the rebuild (return ``model``) unless it removes at least this
            fraction of the parameters; a rebuild costs a retrace.

    Returns:
        ``(new_model, plan)``; ``new_model is model`` when nothing (enough) was removed.
    """
    min_fraction = validate_non_negative_float(min_fraction, "min_fraction",
                                               "shrink_for_training")
    graph = ModelGraph(model)
    plan = keep_for_training(make_plan(graph, tol, round_to))
    removed = plan.params_before - plan.params_after
    if removed <= 0 or removed < min_fraction * plan.params_before:
        return model, plan
    new_model = rebuild(graph, plan)
    compile_like(model, new_model)
    transfer_state(model, new_model, plan)
    return new_model, plan


def _widths(plan):
    return {name: (p.units, len(p.keep_out)) for name, p in plan.layers.items()
            if p.keep_out is not None and p.units and len(p.keep_out) < p.units}


def fit_with_shrinking(model, x=None, y=None, *, epochs=1, shrink_every=1, tol=0.0,
                       round_to=None, min_fraction=0.01, shrink_at_end=True, **fit_kwargs):
    """``model.fit`` that removes dead units every ``shrink_every`` epochs and trains on.

    Everything else is ``model.fit``: pass ``batch_size``, ``callbacks``,
    ``validation_data``, ``verbose``... as usual. The optimizer's state carries over to each
    smaller model (sliced momentum / Adam moments, ``iterations``, so learning-rate schedules
    and bias correction continue), and epochs are numbered across chunks via
    ``initial_epoch``. Callbacks see one run: ``on_train_begin`` once before the first
    epoch, ``on_train_end`` once after the last, so EarlyStopping's patience,
    ReduceLROnPlateau's wait and TensorBoard's step carry across removals, and every chunk
    calls ``set_model`` with the current model. A callback that sets ``stop_training``
    ends the run. EarlyStopping(restore_best_weights=True) is refused: its saved weights
    would not fit the smaller model.

    Gates (Gate, TriStateReLU) and penalties stay in the returned model, so it can be trained
    further; call ``tf_neuronselect.shrink`` on it for the deployable stock-layer model.

    Args:
        model: a compiled Functional or Sequential model.
        x, y: training data as for ``model.fit``.
        epochs: total epochs.
        shrink_every: epochs between removals (to remove every N steps, pass a repeating
            ``tf.data`` dataset with ``steps_per_epoch=N``: a Keras epoch is then N steps).
        tol: group-norm tolerance of the dead-unit test (0: exact removal).
        round_to: keep Dense/Conv widths at multiples of it (e.g. 8 for fast kernels).
        min_fraction: only rebuild when at least this fraction of parameters goes.
        shrink_at_end: also remove dead units after the last epoch.
        **fit_kwargs: passed to every ``model.fit`` call.

    Returns:
        ``(model, history)``: the last (smallest) model and a ``ShrinkHistory``.
    """
    shrink_every = validate_positive_int(
        shrink_every, "shrink_every", "fit_with_shrinking", meaning="epochs between removals",
        hint="to remove every N steps, pass a repeating dataset with steps_per_epoch=N")
    epoch = fit_kwargs.pop("initial_epoch", 0)
    wrapped = check_callbacks(fit_kwargs.pop("callbacks", None))
    history = ShrinkHistory()
    while epoch < epochs:
        stop = min(epoch + shrink_every, epochs)
        chunk = model.fit(x, y, epochs=stop, initial_epoch=epoch, callbacks=wrapped,
                          **fit_kwargs)
        history.extend(chunk)
        epoch = stop
        if model.stop_training:
            break
        if epoch < epochs or shrink_at_end:
            model = _shrink_step(model, history, epoch, tol, round_to, min_fraction)
    history.set_model(model)
    _finish(wrapped, model, history)
    return model, history


def _finish(wrapped, model, history):
    """Ends the run for the user's callbacks, on the final model, with the last epoch's logs."""
    logs = {key: values[-1] for key, values in history.history.items() if values}
    for callback in wrapped:
        callback.set_model(model)
        callback.finish(logs)


def _shrink_step(model, history, epoch, tol, round_to, min_fraction):
    new_model, plan = shrink_for_training(model, tol, round_to, min_fraction)
    if new_model is not model:
        history.shrinks.append({"epoch": epoch, "params_before": plan.params_before,
                                "params_after": plan.params_after, "units": _widths(plan)})
    return new_model
