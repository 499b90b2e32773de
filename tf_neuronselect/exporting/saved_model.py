"""SavedModel export: the serving signature that TF Serving, TFLite and ``tf.saved_model.load``
read without any tf_neuronselect code."""

import keras

from tf_neuronselect.exporting.litert import output_position
from tf_neuronselect.utils.keras_private import own_layers


def write_saved_model(model, path, batch_size=None):
    """Writes ``model`` as a SavedModel directory at ``path`` with a ``serving_default``
    signature (inference mode: dropout off, BatchNorm uses its moving statistics), for inputs
    of any batch size or of ``batch_size``."""
    signature = None
    if batch_size is not None:
        signature = [keras.InputSpec(shape=(batch_size,) + tuple(t.shape[1:]), dtype=t.dtype)
                     for t in model.inputs]
    model.export(str(path), format="tf_saved_model", verbose=False, input_signature=signature)


def tflite_batch_size(model):
    """1 when ``model`` has recurrent layers (the TFLite converter needs their loop's shapes
    static, batch included), else None (any batch size)."""
    recurrent = (keras.layers.RNN, keras.layers.Bidirectional)
    return 1 if any(isinstance(layer, recurrent) for layer in own_layers(model)) else None


def write_for_tflite(model, path):
    """The SavedModel the TFLite converter reads (see ``tflite_batch_size``)."""
    write_saved_model(model, path, tflite_batch_size(model))


def run_saved_model(path, inputs):
    """Loads the SavedModel at ``path`` and runs its ``serving_default`` signature.

    ``inputs`` is one array (single-input model), a list of arrays in signature input order or
    a dict keyed by input name. Returns the outputs as a list in Keras output order.
    """
    import tensorflow as tf

    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    names = list(serve.structured_input_signature[1])
    if not isinstance(inputs, dict):
        inputs = dict(zip(names, inputs if isinstance(inputs, (list, tuple)) else [inputs]))
    outputs = serve(**{name: tf.constant(a) for name, a in inputs.items()})
    return [outputs[name].numpy() for name in sorted(outputs, key=output_position)]
