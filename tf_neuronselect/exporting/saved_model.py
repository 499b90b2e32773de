"""SavedModel export: the serving signature that TF Serving, TFLite and ``tf.saved_model.load``
read without any tf_neuronselect code."""

from tf_neuronselect.exporting.litert import output_position


def write_saved_model(model, path):
    """Writes ``model`` as a SavedModel directory at ``path`` with a ``serving_default``
    signature (inference mode: dropout off, BatchNorm uses its moving statistics)."""
    model.export(str(path), format="tf_saved_model", verbose=False)


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
