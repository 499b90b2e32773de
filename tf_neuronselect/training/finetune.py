"""Training a compact model on for ``compress``: an optimizer like the one the original model
was compiled with, its learning rate decaying (cosine) over the steps, and optionally the
original model as a distillation teacher."""

import math

import keras

from tf_neuronselect.analysis.graph import ModelGraph
from tf_neuronselect.analysis.replay import copy_model
from tf_neuronselect.optimizers.proximal_adam import ProximalAdam
from tf_neuronselect.optimizers.proximal_sgd import ProximalSGD
from tf_neuronselect.training.distill import Distiller
from tf_neuronselect.utils import keras_private


def base_rate(optimizer):
    rate = optimizer.get_config()["learning_rate"]
    if isinstance(rate, dict):  # a schedule: start where it started
        rate = rate.get("config", {}).get("initial_learning_rate", 1e-3)
    return float(rate)


def adam_like(optimizer):
    """Whether ``optimizer`` keeps Adam's moments (its config has ``beta_1``)."""
    return optimizer is not None and "beta_1" in optimizer.get_config()


def optimizer_like(optimizer, steps, proximal=False):
    """A fresh optimizer of ``optimizer``'s kind (Adam-like or SGD-like; a proximal one when
    ``proximal``: ``ProximalAdam`` takes its prox in Adam's metric, see ``adaptive_prox``)
    with its learning rate decaying to 1% over ``steps``."""
    config = optimizer.get_config()
    schedule = keras.optimizers.schedules.CosineDecay(base_rate(optimizer), max(1, steps),
                                                      alpha=0.01)
    if proximal:
        if adam_like(optimizer):
            return ProximalAdam(schedule, adaptive_prox=True)
        return ProximalSGD(schedule, momentum=config.get("momentum", 0.9) or 0.9)
    config = dict(config, learning_rate=schedule)
    return type(optimizer).from_config(config)


def steps_for(train_data, batch_size, epochs):
    return epochs * math.ceil(len(train_data[1]) / batch_size)


def fit(student, original, train_data, settings, epochs, proximal=False, callbacks=()):
    """Fits ``student`` for ``epochs`` epochs (see ``compress``); returns the Keras History."""
    arguments = dict(keras_private.compile_arguments(original))
    optimizer = optimizer_like(original.optimizer,
                               steps_for(train_data, settings.batch_size, epochs), proximal)
    trained = student
    if settings.distill:
        teacher = copy_model(ModelGraph(original))  # freezing it must not touch the original
        trained = Distiller(student, teacher, keras.losses.get(arguments["loss"]))
    arguments["optimizer"] = optimizer
    trained.compile(**arguments)
    for callback in callbacks:
        callback.measured_model = student
    return trained.fit(train_data[0], train_data[1], batch_size=settings.batch_size,
                       epochs=epochs, validation_data=settings.validation_data,
                       callbacks=list(callbacks), verbose=settings.verbose)
