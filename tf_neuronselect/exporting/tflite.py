"""SavedModel -> TFLite conversion, the one place that calls ``tf.lite.TFLiteConverter``.

TF 2.21 still ships the converter without a deprecation warning; ai-edge-litert ships only the
interpreter. Keeping the call here means a future converter package changes one module.
"""

from tf_neuronselect.utils.validation import validate_choice

QUANTIZATIONS = ("float16", "dynamic", "int8")


def normalize_quantize(quantize):
    """Returns ``quantize`` as a tuple of unique names from ``QUANTIZATIONS`` (None -> ())."""
    if quantize is None:
        return ()
    names = (quantize,) if isinstance(quantize, str) else tuple(quantize)
    for name in names:
        validate_choice(name, "quantize", QUANTIZATIONS, "export")
    return tuple(dict.fromkeys(names))


def tflite_filename(variant):
    """File name of one TFLite variant: ``model_float32.tflite``, ``model_int8.tflite``, ..."""
    return f"model_{variant}.tflite"


def convert_saved_model(saved_model_dir, variant="float32", representative_dataset=None):
    """Converts the SavedModel at ``saved_model_dir`` and returns the ``.tflite`` bytes.

    ``variant`` is "float32", "float16" (float16 weights), "dynamic" (int8 weights, float
    activations) or "int8" (int8 weights and activations, float inputs and outputs; needs
    ``representative_dataset``, a zero-argument generator function of input batches).
    """
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_dir))
    if variant != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if variant == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if variant == "int8":
        converter.representative_dataset = representative_dataset
        # Full-integer: fail rather than silently keep float kernels. I/O stays float32.
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return converter.convert()
