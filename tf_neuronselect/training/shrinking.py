"""Training with removal of dead units as they die (ShrinkNets' "garbage collection").

Keras trains the model object it was given, and a callback cannot swap it, so
``fit_with_shrinking`` runs ``model.fit`` until a removal point (``removal.RemovalPoints``)
finds enough dead units -> plan -> rebuild a smaller model that keeps its Gates and penalties
-> compile it with a fresh optimizer whose slots are sliced and whose step counter is copied
-> fit on from where the last fit stopped (``initial_epoch``, and the rest of the epoch when
the removal came in its middle). With ``tol=0`` a removed unit contributed exactly nothing,
so the smaller model follows the same trajectory the big one would have, only faster. While
nothing dies the run is one ``model.fit``.
"""

import keras

from tf_neuronselect.surgery.rewrite import rebuild
from tf_neuronselect.training.chunks import RunState
from tf_neuronselect.training.chunks import check_callbacks
from tf_neuronselect.training.removal import RemovalPoints
from tf_neuronselect.training.removal import StepRemovalPoints
from tf_neuronselect.training.removal import any_dead
from tf_neuronselect.training.removal import dead_signature
from tf_neuronselect.training.removal import plan_for_training
from tf_neuronselect.training.removal import worth_removing
from tf_neuronselect.training.resume import check_resumable
from tf_neuronselect.training.resume import rest_of_epoch
from tf_neuronselect.training.resume import split_validation
from tf_neuronselect.training.transfer import compile_like
from tf_neuronselect.training.transfer import transfer_state
from tf_neuronselect.utils.validation import validate_non_negative_float
from tf_neuronselect.utils.validation import validate_positive_int


class ShrinkHistory(keras.callbacks.History):
    """The ``History`` of all chunks together, plus ``shrinks``: one dict per removal with
    ``epoch`` (whole epochs done before it), ``step`` (training steps done before it),
    ``params_before``, ``params_after`` and ``units`` (``{layer: (before, after)}`` for the
    layers that were narrowed)."""

    def __init__(self):
        super().__init__()
        self.epoch = []
        self.shrinks = []

    def extend(self, chunk, interrupted=False):
        """Appends a chunk's epochs; the last one is left out when the chunk stopped inside
        it (the next chunk finishes that epoch and reports it)."""
        count = len(chunk.epoch) - (1 if interrupted and chunk.epoch else 0)
        self.epoch += list(chunk.epoch[:count])
        for key, values in chunk.history.items():
            self.history.setdefault(key, []).extend(values[:count])


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
    graph, plan = plan_for_training(model, tol, round_to)
    if not worth_removing(plan, min_fraction):
        return model, plan
    return rebuild_for_training(model, graph, plan), plan


def rebuild_for_training(model, graph, plan):
    """The compiled model ``plan`` describes, carrying ``model``'s optimizer state."""
    new_model = rebuild(graph, plan)
    compile_like(model, new_model)
    transfer_state(model, new_model, plan)
    return new_model


def _widths(plan):
    """``{layer: (units, kept)}`` of the layers that lose units: a layer's internal units
    (heads, a block's neurons) when it has them, else its output channels; 0 kept when the
    layer goes with a dead residual branch."""
    widths = {}
    for name, p in plan.layers.items():
        if p.kept_count is not None and p.units and p.kept_count < p.units:
            widths[name] = (p.units, p.kept_count)
    return widths


def _record(history, model, plan, epoch):
    history.shrinks.append({"epoch": epoch, "step": int(model.optimizer.iterations),
                            "params_before": plan.params_before,
                            "params_after": plan.params_after, "units": _widths(plan)})


def fit_with_shrinking(model, x=None, y=None, *, epochs=1, shrink_every=1,
                       shrink_every_steps=None, tol=0.0, round_to=None, min_fraction=0.01,
                       shrink_at_end=True, **fit_kwargs):
    """``model.fit`` that removes dead units as they die and trains on.

    Everything else is ``model.fit``: pass ``batch_size``, ``callbacks``,
    ``validation_data``, ``verbose``... as usual. Dead units are removed at *removal points*:
    the end of every ``shrink_every``-th epoch and, with ``shrink_every_steps=N``, every N
    training steps, as soon as removing them takes at least ``min_fraction`` of the
    parameters away (checking costs a few reductions over the kernels; the plan is only made
    when units died since the last one). The optimizer's state carries over to each smaller
    model (sliced momentum / Adam moments, ``iterations``, so learning-rate schedules and bias
    correction continue). Callbacks see one run: ``on_train_begin`` once before the first
    epoch, ``on_train_end`` once after the last, one ``on_epoch_begin`` / ``on_epoch_end``
    per epoch with batch indices running on across a removal inside it, so EarlyStopping's
    patience, ReduceLROnPlateau's wait and TensorBoard's step carry across removals; every
    chunk calls ``set_model`` with the current model. A callback that sets
    ``stop_training`` ends the run. EarlyStopping(restore_best_weights=True) is refused: its
    saved weights would not fit the smaller model.

    A removal inside an epoch ends that ``model.fit`` early, so Keras logs the epoch's
    metrics over the steps after the removal only, runs ``validation_data`` once more, and
    (arrays with shuffling) draws the rest of the epoch from a fresh shuffle: see
    ``training.resume``. Gates (Gate, TriStateReLU) and penalties stay in the returned model,
    so it can be trained further; call ``tf_neuronselect.shrink`` on it for the deployable
    stock-layer model.

    Args:
        model: a compiled Functional or Sequential model.
        x, y: training data as for ``model.fit``.
        epochs: total epochs.
        shrink_every: epochs between epoch-end removal points.
        shrink_every_steps: also a removal point every N training steps (None: epoch ends
            only). Needs arrays, tensors or a tf.data.Dataset, or ``steps_per_epoch``.
        tol: group-norm tolerance of the dead-unit test (0: exact removal).
        round_to: keep Dense/Conv widths at multiples of it (e.g. 8 for fast kernels).
        min_fraction: only rebuild when at least this fraction of parameters goes.
        shrink_at_end: also remove dead units after the last epoch.
        **fit_kwargs: passed to every ``model.fit`` call.

    Returns:
        ``(model, history)``: the last (smallest) model and a ``ShrinkHistory``.
    """
    state = RunState()
    points = _removal_points(state, epochs, shrink_every, shrink_every_steps, tol, round_to,
                             min_fraction)
    epoch = fit_kwargs.pop("initial_epoch", 0)
    wrapped = check_callbacks(fit_kwargs.pop("callbacks", None), state)
    if isinstance(points, StepRemovalPoints):
        check_resumable(x, fit_kwargs)
        x, y, fit_kwargs = split_validation(x, y, fit_kwargs)
    history = ShrinkHistory()
    model, stopped = _train(model, (x, y, fit_kwargs), (epoch, epochs), wrapped, points,
                            history)
    if shrink_at_end and not stopped:
        model = _shrink_step(model, history, epochs, tol, round_to, min_fraction)
    history.set_model(model)
    _finish(wrapped, model, history)
    return model, history


def _removal_points(state, epochs, every, every_steps, tol, round_to, min_fraction):
    owner = "fit_with_shrinking"
    every = validate_positive_int(every, "shrink_every", owner, meaning="epochs between removals",
                                  hint="to remove every N steps, pass shrink_every_steps=N")
    every_steps = validate_positive_int(every_steps, "shrink_every_steps", owner,
                                        allow_none=True, example=50)
    settings = {"tol": tol, "round_to": round_to,
                "min_fraction": validate_non_negative_float(min_fraction, "min_fraction", owner)}
    if every_steps:
        return StepRemovalPoints(state, epochs, every, every_steps, **settings)
    return RemovalPoints(state, epochs, every, **settings)


def _train(model, data, span, wrapped, points, history):
    """Fits over ``span`` (first epoch, epochs), rebuilding at every removal point that
    stopped a fit; returns ``(model, whether a user's callback ended the run)``."""
    x, y, fit_kwargs = data
    (epoch, epochs), offset = span, 0
    while epoch < epochs:
        points.state.resume(epoch, offset)
        part_x, part_y, kwargs = rest_of_epoch(x, y, fit_kwargs, offset) if offset else data
        last = epoch + 1 if offset else epochs
        chunk = model.fit(part_x, part_y, epochs=last, initial_epoch=epoch,
                          callbacks=[*wrapped, points], **kwargs)
        history.extend(chunk, points.state.interrupted)
        if points.plan is None:
            if model.stop_training:
                return model, True
            epoch, offset = last, 0
            continue
        _record(history, model, points.plan, points.epoch)
        model = rebuild_for_training(model, points.graph, points.plan)
        epoch, offset = points.epoch, points.offset
    return model, False


def _finish(wrapped, model, history):
    """Ends the run for the user's callbacks, on the final model, with the last epoch's logs."""
    logs = {key: values[-1] for key, values in history.history.items() if values}
    for callback in wrapped:
        callback.set_model(model)
        callback.finish(logs)


def _shrink_step(model, history, epoch, tol, round_to, min_fraction):
    if not any_dead(dead_signature(model, tol)):
        return model
    graph, plan = plan_for_training(model, tol, round_to)
    if not worth_removing(plan, min_fraction):
        return model
    _record(history, model, plan, epoch)
    return rebuild_for_training(model, graph, plan)
