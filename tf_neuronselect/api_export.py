"""The one place that registers public objects with Keras serialization.

The registered name ``tf_neuronselect>ClassName`` is part of the saved file format: never rename a
registered class without keeping an alias.
"""

import keras

PACKAGE = "tf_neuronselect"


def neuronselect_export(cls):
    """Registers ``cls`` as serializable under the package name ``tf_neuronselect``."""
    return keras.saving.register_keras_serializable(package=PACKAGE)(cls)
