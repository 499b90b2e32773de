"""``compress``: the one call for a model that is already trained.

Two recipes, both ending with plain fine-tuning of the compact model:

- ``"prune"``: iterative importance pruning (Taylor scores on a few batches, bias compensation)
  in a few steps that shrink the model geometrically, each followed by fine-tuning.
- ``"penalty"``: fine-tuning with a sparse group lasso over the unit groups whose strength a
  ``SizeBudget`` steers to the target, then ``shrink`` (and a prune step if the budget stopped
  short), then plain fine-tuning. A model compiled with an Adam-like optimizer trains under
  ``ProximalAdam(adaptive_prox=True)``, whose strengths are in gradient units: the budget starts
  from a strength scaled by each group's gradient RMS (measured on a few batches).

``method="auto"`` takes the penalty recipe when the model was compiled with an SGD-like
optimizer and its training phase gets at least ``MIN_PENALTY_STEPS`` optimizer steps, else
the prune recipe. ``distill=True`` trains
with the original model as a teacher.
"""

import dataclasses
import math
import time

import numpy as np

from tf_neuronselect.analysis.graph import ModelGraph
from tf_neuronselect.analysis.groups import CARRIES
from tf_neuronselect.analysis.groups import PRODUCES
from tf_neuronselect.analysis.groups import unit_groups
from tf_neuronselect.analysis.replay import copy_model
from tf_neuronselect.penalties import add_penalty
from tf_neuronselect.pruning import prune
from tf_neuronselect.pruning.data import MAX_SAMPLES
from tf_neuronselect.pruning.gradients import gradient_rms
from tf_neuronselect.pruning.importance import group_entry_means
from tf_neuronselect.pruning.importance import group_importance
from tf_neuronselect.regularizers.group_lasso import SparseGroupLasso
from tf_neuronselect.surgery.reporting import model_size
from tf_neuronselect.surgery.rewrite import shrink
from tf_neuronselect.training import compress_checks
from tf_neuronselect.training import finetune
from tf_neuronselect.training import latency_budget
from tf_neuronselect.training.budget import SizeBudget
from tf_neuronselect.utils import keras_private

# "auto" takes the penalty recipe when its training phase gets at least this many steps: on
# MNIST it was the best path at every level in benchmarks/bench_compress.py; with fewer steps
# the SizeBudget has too few updates to steer the strength to the target.
MIN_PENALTY_STEPS = 200
# "auto" keeps the prune recipe for Adam-like optimizers. With ProximalAdam's default prox the
# loss pushed every weight back by about a learning rate per step, whatever its gradient's size:
# in benchmarks/bench_sequence.py's calibration (ViT and LSTM compiled with Adam) the SizeBudget
# had moved the MACs by 5% and 0% after 2 penalty epochs (ViT at 30% of the MACs 6.72% error,
# LSTM 5.02%). With the prox in Adam's metric the budget moves (the LSTM's penalty phase took
# its MACs to 37% in 6 epochs) but the recipe still loses to pruning: bench_sequence.py's
# compress-penalty runs, next to the prune recipe's in benchmarks/results/sequence.md.
# The prune that finishes the penalty recipe when the budget stopped short: the penalty has
# already narrowed the layers, so the default cap of 0.9 per layer could leave the target out
# of reach.
FALLBACK_MAX_LAYER_FRACTION = 0.99
PENALTY_SHARE = 0.6  # of the epochs, for penalty training; the rest fine-tunes


@dataclasses.dataclass
class Settings:
    """How ``compress`` trains: see its arguments."""

    epochs: int
    batch_size: int
    validation_data: object
    distill: bool
    verbose: int


@dataclasses.dataclass
class CompressionRecord:
    """What ``compress`` did: the recipe, the target, and one entry per phase with the size
    after it (``params``, ``macs``), its epochs and seconds, and the validation metrics."""

    method: str
    target: dict
    original: dict
    phases: list = dataclasses.field(default_factory=list)
    latency_ratio: float | None = None

    def add(self, phase, model, epochs, started, history=None):
        entry = {"phase": phase, **model_size(model), "epochs": epochs,
                 "seconds": round(time.perf_counter() - started, 1)}
        if history is not None:
            entry.update({k: float(v[-1]) for k, v in history.history.items()
                          if k.startswith("val_")})
        self.phases.append(entry)

    def to_dict(self):
        return dataclasses.asdict(self)


def compress(model, train_data, *, params=None, macs=None, latency=None, epochs=5,
             validation_data=None, method="auto", distill=False, batch_size=128, verbose=1):
    """A compact, fine-tuned copy of a trained, compiled ``model`` and a
    ``CompressionRecord``.

    Args:
        model: a compiled Functional or Sequential model, already trained.
        train_data: ``(x, y)`` arrays to fine-tune on.
        params / macs: the size to reach: an int, or a float in (0, 1) (a share of the
            model's size); or
        latency: a float in (0, 1): the share of the model's multiply-adds to keep, as the
            stand-in for latency (the record holds the TFLite latency measured at the end).
        epochs: all the training ``compress`` may do.
        validation_data: ``(x, y)`` evaluated after every epoch (recorded per phase).
        method: "auto", "prune" or "penalty" (see the module doc; "auto" takes "penalty"
            for a model compiled with an SGD-like optimizer when its training phase gets at
            least ``MIN_PENALTY_STEPS`` steps).
        distill: train with the original model as a teacher (classification losses).
        batch_size, verbose: as for ``model.fit``.
    """
    target = compress_checks.check(model, train_data, params, macs, latency, epochs, method,
                                   distill)
    settings = Settings(epochs, batch_size, validation_data, distill, verbose)
    start = model_size(model)
    kind, goal = target
    if method == "auto":
        method = _auto(penalty_steps(train_data, settings), model.optimizer)
    record = CompressionRecord(method, {kind: goal}, start)
    recipe = _prune_recipe if method == "prune" else _penalty_recipe
    compact = recipe(model, train_data, kind, goal, settings, record)
    compact.compile(**_compile_arguments(model))
    if latency is not None:
        record.target["latency"] = latency
        record.latency_ratio = measure_latency_ratio(model, compact)
    return compact, record


def _auto(steps, optimizer=None):
    """The recipe "auto" takes: see the module doc."""
    return "penalty" if steps >= MIN_PENALTY_STEPS and not finetune.adam_like(optimizer) \
        else "prune"


def penalty_epochs(settings):
    return max(1, int(round(PENALTY_SHARE * settings.epochs)))


def penalty_steps(train_data, settings):
    """Optimizer steps of the penalty recipe's training phase."""
    return finetune.steps_for(train_data, settings.batch_size, penalty_epochs(settings))


def measure_latency_ratio(original, compact):
    """compact / original batch-1 latency with the default timer (TFLite with LiteRT)."""
    timer = latency_budget.default_timer()(batch_size=1, num_threads=1, rounds=5,
                                           iterations=50)
    try:
        timer.set_reference(original)
        return float(timer.ratio(compact))
    finally:
        timer.close()


def _compile_arguments(original):
    arguments = dict(keras_private.compile_arguments(original))
    arguments["optimizer"] = finetune.optimizer_like(original.optimizer, 1)
    return arguments


def _subset(train_data):
    return train_data[0][:MAX_SAMPLES], train_data[1][:MAX_SAMPLES]


def prune_steps(kept, epochs):
    """Steps of the prune recipe: one per 4x of compression (at most one per epoch)."""
    return max(1, min(epochs, math.ceil(math.log(1 / kept) / math.log(4))))


def _prune_recipe(model, train_data, kind, goal, settings, record):
    steps = prune_steps(goal / record.original[kind], settings.epochs)
    epochs = [settings.epochs // steps + (i < settings.epochs % steps) for i in range(steps)]
    student = model
    for step in range(1, steps + 1):
        started = time.perf_counter()
        step_goal = record.original[kind] * (goal / record.original[kind]) ** (step / steps)
        student = prune(student, **{kind: int(round(step_goal))}, importance="taylor",
                        data=_subset(train_data), loss=_loss(model))
        history = finetune.fit(student, model, train_data, settings, epochs[step - 1]) \
            if epochs[step - 1] else None
        record.add(f"prune step {step}", student, epochs[step - 1], started, history)
    return student


def _penalty_recipe(model, train_data, kind, goal, settings, record):
    started = time.perf_counter()
    epochs = penalty_epochs(settings)
    student = copy_model(ModelGraph(model))
    steps = penalty_steps(train_data, settings)
    rms = gradient_rms(student, _subset(train_data), _loss(model)) \
        if finetune.adam_like(model.optimizer) else None
    strength = starting_strength(student, 1 - goal / record.original[kind],
                                 finetune.base_rate(model.optimizer) * steps, rms)
    add_penalty(student, SparseGroupLasso(strength, alpha=0.2), over="unit_groups")
    steps_per_epoch = math.ceil(len(train_data[1]) / settings.batch_size)
    budget = SizeBudget(**{kind: int(round(goal))}, every_n_steps=max(1, steps_per_epoch // 4))
    history = finetune.fit(student, model, train_data, settings, epochs,
                           proximal=True, callbacks=[budget])
    record.add("penalty under a size budget", student, epochs, started, history)
    started = time.perf_counter()
    student = shrink(student)
    if model_size(student)[kind] > goal * 1.1:  # the budget stopped short: prune the rest
        student = prune(student, **{kind: int(round(goal))}, data=_subset(train_data),
                        max_layer_fraction=FALLBACK_MAX_LAYER_FRACTION)
    record.add("shrink", student, 0, started)
    rest = settings.epochs - epochs
    if rest:
        started = time.perf_counter()
        history = finetune.fit(student, model, train_data, settings, rest)
        record.add("fine-tune", student, rest, started, history)
    return student


def starting_strength(model, removed_share, total_step, rms=None):
    """The strength at which, ignoring the loss, the proximal steps of all penalty training
    (``total_step``: learning rate times steps) would zero the weakest ``removed_share`` of the
    unit groups: where the budget starts, so it need not climb for epochs from a guess.

    With ``rms`` (``{variable path: RMS of the batch gradients}``) the prox is taken in Adam's
    metric: a group's step is the learning rate over the mean RMS of its penalized entries, so
    its strength scales by that mean (strengths are then in gradient units)."""
    groups = [g for g in unit_groups(model).removable() if g.layers((PRODUCES,))]
    if not groups:
        return 1e-4
    norms = group_importance(model, groups, "l2")
    sizes = np.array([max(1, g.size(model)) for g in groups])
    per_strength = norms / (np.sqrt(sizes) * max(total_step, 1e-12))
    floor = 1e-6
    if rms is not None:
        per_strength = per_strength * group_entry_means(model, groups, rms, (PRODUCES, CARRIES))
        floor = 1e-9  # gradient units are far below the default prox's
    return float(max(floor, np.quantile(per_strength, min(0.99, max(0.01, removed_share)))))


def _loss(model):
    return keras_private.compile_arguments(model)["loss"]

