"""Bad hyperparameters are refused with the library's wording, never converted silently."""

import re

import keras
import pytest

import tf_neuronselect as ns


def _raises(error, message):
    return pytest.raises(error, match=re.escape(message))


@pytest.mark.parametrize("cls, kwargs, message", [
    (ns.ProximalSGD, {"learning_rate": -0.1}, "ProximalSGD: expected `learning_rate` to be a "
     "finite float >= 0 (the proximal step size). Received: learning_rate=-0.1."),
    (ns.ProximalSGD, {"learning_rate": float("inf")}, "Received: learning_rate=inf."),
    (ns.ProximalAdam, {"learning_rate": float("nan")}, "ProximalAdam: expected `learning_rate`"),
    (ns.ProximalSGD, {"momentum": 1.0}, "ProximalSGD: expected `momentum` to be in [0, 1). "
     "Received: momentum=1.0. How to fix: pass a value in [0, 1)."),
    (ns.ProximalSGD, {"momentum": -0.5}, "Received: momentum=-0.5."),
    (ns.ProximalAdam, {"beta_1": 1.0}, "ProximalAdam: expected `beta_1` to be in [0, 1)."),
    (ns.ProximalAdam, {"beta_2": 1.5}, "expected `beta_2` to be in [0, 1)."),
    (ns.ProximalAdam, {"epsilon": 0.0}, "ProximalAdam: expected `epsilon` to be a finite float "
     "> 0 (it keeps Adam's division defined). Received: epsilon=0.0."),
])
def test_optimizer_hyperparameters_are_checked(cls, kwargs, message):
    with _raises(ValueError, message):
        cls(**kwargs)


def test_positional_optimizer_arguments_are_checked_too():
    with _raises(ValueError, "Received: momentum=1.0"):
        ns.ProximalSGD(0.1, 1.0)
    optimizer = ns.ProximalSGD(0.05, 0.9, True)  # learning_rate, momentum, nesterov
    assert (float(optimizer.learning_rate), optimizer.momentum, optimizer.nesterov) == (
        pytest.approx(0.05), 0.9, True)


def test_schedules_are_left_to_keras():
    schedule = keras.optimizers.schedules.CosineDecay(0.1, 100)
    optimizer = ns.ProximalAdam(schedule)
    assert optimizer.get_config()["learning_rate"]["class_name"] == "CosineDecay"


@pytest.mark.parametrize("kwargs, error, message", [
    ({"tol": -1.0}, ValueError, "NeuronHistory: expected `tol` to be a finite float >= 0. "
     "Received: tol=-1.0."),
    ({"every_n_steps": 0}, ValueError, "NeuronHistory: expected `every_n_steps` to be None or "
     "a positive int. Received: every_n_steps=0. How to fix: pass e.g. every_n_steps=50."),
    ({"every_n_steps": 2.5}, ValueError, "Received: every_n_steps=2.5."),
    ({"sizes": "yes"}, TypeError, "NeuronHistory: expected `sizes` to be a bool. Received: "
     "sizes='yes'"),
])
def test_neuron_history_refuses_bad_arguments(kwargs, error, message):
    with _raises(error, message):
        ns.NeuronHistory(**kwargs)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"every_n_epochs": 0}, ValueError, "SizeBudget: expected `every_n_epochs` to be a "
     "positive int. Received: every_n_epochs=0."),
    ({"every_n_epochs": 1.5}, ValueError, "Received: every_n_epochs=1.5."),
    ({"max_rollbacks": -1}, ValueError, "SizeBudget: expected `max_rollbacks` to be an int "
     ">= 0. Received: max_rollbacks=-1."),
    ({"max_factor": 1.0}, ValueError, "SizeBudget: expected `max_factor` to be > 1 (the "
     "strengths change by up to that factor per epoch). Received: max_factor=1.0."),
    ({"tol": "0"}, TypeError, "SizeBudget: expected `tol` to be a non-negative float. "
     "Received: tol='0' of type str."),
    ({"params": 0}, ValueError, "SizeBudget: expected `params` to be a positive int. "
     "Received: params=0. How to fix: pass e.g. params=50000."),
])
def test_size_budget_refuses_bad_arguments(kwargs, error, message):
    arguments = {"params": 1000, **kwargs}
    with _raises(error, message):
        ns.SizeBudget(**arguments)


def test_latency_budget_timer_must_be_callable():
    with _raises(TypeError, "set_default_timer: expected a callable. Received: 3."):
        ns.training.set_default_timer(3)


@pytest.mark.parametrize("call, message", [
    (lambda: ns.shrink(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]),
                       round_to=0),
     "shrink: expected `round_to` to be None or a positive int. Received: round_to=0. "
     "How to fix: pass e.g. round_to=8."),
    (lambda: ns.benchmark("a.tflite", "b.tflite", rounds=0),
     "benchmark: expected `rounds` to be a positive int. Received: rounds=0."),
])
def test_positive_int_arguments_share_one_wording(call, message):
    with _raises(ValueError, message):
        call()
