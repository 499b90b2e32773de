"""Removal points: where ``fit_with_shrinking`` stops the fit to take dead units out.

A removal point is the end of every ``shrink_every``-th epoch and, with
``shrink_every_steps=N``, every N training steps. At each point a cheap signature of the dead
units (``dead_counts`` of every layer: a few reductions, no copy of the weights) is compared
with the one the last plan was made from; only when it changed is the exact plan made, and
the fit stops when that plan removes at least ``min_fraction`` of the parameters. So a
run in which nothing dies pays for the signature only, and one whose units die in the middle
of an epoch stops at the next point instead of the epoch's end.
"""

import keras

from tf_neuronselect.selection.dead import dead_counts
from tf_neuronselect.analysis.graph import ModelGraph
from tf_neuronselect.surgery.planner import make_plan
from tf_neuronselect.surgery.rewrite import keep_for_training
from tf_neuronselect.utils import keras_private
from tf_neuronselect.utils.steps import StepCounter


def dead_signature(model, tol=0.0):
    """``{layer name: dead_counts}`` of every built layer with removable units."""
    signature = {}
    for layer in keras_private.own_layers(model):
        counts = dead_counts(layer, tol) if layer.built else None
        if counts is not None:
            signature[layer.name] = counts
    return signature


def any_dead(signature):
    """Whether a ``dead_signature`` counts any dead unit (else no plan can remove one)."""
    return any(sum(counts) for counts in signature.values())


def plan_for_training(model, tol=0.0, round_to=None):
    """The plan that narrows ``model`` and keeps its gates and penalties (see
    ``keep_for_training``), with the ``ModelGraph`` it was read from."""
    graph = ModelGraph(model)
    return graph, keep_for_training(make_plan(graph, tol, round_to))


def worth_removing(plan, min_fraction):
    removed = plan.params_before - plan.params_after
    return removed > 0 and removed >= min_fraction * plan.params_before


class RemovalPoints(keras.callbacks.Callback):
    """Stops the fit at the first epoch-end removal point where removal pays.

    The last epoch has no point (``shrink_at_end`` decides about it). After the fit,
    ``plan`` (None when it ran to its end), ``graph``, ``epoch`` (epochs completed) and
    ``offset`` (batches of ``epoch`` done; 0 at an epoch end) say where it stopped.
    """

    def __init__(self, state, epochs, every_epochs, tol=0.0, round_to=None, min_fraction=0.0):
        super().__init__()
        self.state, self.epochs, self.every_epochs = state, epochs, every_epochs
        self.tol, self.round_to, self.min_fraction = tol, round_to, min_fraction
        self.plan = self.graph = None
        self.epoch = self.offset = 0
        self._signature = None
        self._point_at_end = False

    def set_model(self, model):
        if model is not self.model:
            self._signature = None  # a new model: nothing planned for it yet
        super().set_model(model)

    def on_train_begin(self, logs=None):
        self.plan = self.graph = None

    def on_epoch_end(self, epoch, logs=None):
        due = (epoch + 1) % self.every_epochs == 0 or self._point_at_end
        self._point_at_end = False
        if not self.state.interrupted and due and epoch + 1 < self.epochs:
            self._check(epoch + 1, 0)

    def _check(self, epoch, offset):
        """Plans when the dead units changed; stops the fit when the plan pays off."""
        model = self.model
        if model.stop_training:
            return False  # a callback before this one ends the run: no removal
        signature = dead_signature(model, self.tol)
        if signature == self._signature:
            return False
        self._signature = signature
        if not any_dead(signature):
            return False
        graph, plan = plan_for_training(model, self.tol, self.round_to)
        if not worth_removing(plan, self.min_fraction):
            return False
        self.graph, self.plan, self.epoch, self.offset = graph, plan, epoch, offset
        model.stop_training = True
        return True


class StepRemovalPoints(RemovalPoints):
    """``RemovalPoints`` plus a point every ``every_steps`` training steps. A point that
    falls on an epoch's last step is taken at the epoch's end (no split). Only used when
    asked for: a batch-end hook keeps Keras from running batch-end hooks off the training
    thread."""

    def __init__(self, state, epochs, every_epochs, every_steps, **kwargs):
        super().__init__(state, epochs, every_epochs, **kwargs)
        self.every_steps = every_steps
        self._steps = StepCounter()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        if epoch != self.state.resumed_epoch:
            self._steps.begin_epoch()

    def on_train_batch_end(self, batch, logs=None):
        steps = (self.params or {}).get("steps")
        steps = steps + self.state.offset if steps else None
        done = batch + 1 + self.state.offset
        if not self._steps.end_batch(done - 1, steps, self.every_steps):
            return
        if steps and done >= steps:
            self._point_at_end = True
        elif self._check(self._epoch, done):
            self.state.interrupted = True
