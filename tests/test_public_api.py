"""Every public Keras object is registered under the fixed package name (a file format)."""

import inspect

import keras
import pytest

import tf_neuronselect as ns

KERAS_BASES = (keras.layers.Layer, keras.regularizers.Regularizer, keras.optimizers.Optimizer,
               keras.constraints.Constraint)
# Abstract bases are for users to subclass (and register under their own package).
ABSTRACT = {"ProximalPenalty"}
PUBLIC_CLASSES = [getattr(ns, name) for name in ns.__all__ if name not in ABSTRACT
                  and inspect.isclass(getattr(ns, name)) and issubclass(getattr(ns, name), KERAS_BASES)]


def test_there_are_public_keras_classes():
    assert {c.__name__ for c in PUBLIC_CLASSES} >= {
        "GroupLasso", "SparseGroupLasso", "DropNeuron", "L1", "Binarizing", "Gate",
        "TriStateReLU", "UnitInterval", "ProximalSGD", "ProximalAdam"}


@pytest.mark.parametrize("cls", PUBLIC_CLASSES, ids=lambda c: c.__name__)
def test_registered_under_package_name(cls):
    assert keras.saving.get_registered_name(cls) == f"tf_neuronselect>{cls.__name__}"
    assert keras.saving.get_registered_object(f"tf_neuronselect>{cls.__name__}") is cls


def test_every_name_in_all_exists():
    missing = [name for name in ns.__all__ if not hasattr(ns, name)]
    assert not missing


def test_all_has_no_duplicates():
    assert len(ns.__all__) == len(set(ns.__all__))
