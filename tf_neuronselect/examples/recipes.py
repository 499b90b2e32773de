"""Ready-made networks for each neuron-selection method: the demo's, notebooks' and benchmarks'
models.

``build(arch, method, input_shape, num_classes, strength)`` returns an uncompiled Keras model
whose hidden layers carry the method's penalty or gates, and ``optimizer_for(method)`` the
optimizer that method is trained with. ``layer_scale`` multiplies the strength per layer,
``widths`` overrides the hidden widths and ``dropout`` puts a Dropout after every hidden Dense
layer (the benchmarks' baselines use the last two).
"""

import keras

from tf_neuronselect.layers.gate import Gate
from tf_neuronselect.layers.tri_state_relu import TriStateReLU
from tf_neuronselect.optimizers.proximal_adam import ProximalAdam
from tf_neuronselect.optimizers.proximal_sgd import ProximalSGD
from tf_neuronselect.regularizers.drop_neuron import DropNeuron
from tf_neuronselect.regularizers.group_lasso import GroupLasso
from tf_neuronselect.regularizers.group_lasso import SparseGroupLasso
from tf_neuronselect.utils.validation import validate_choice
from tf_neuronselect.utils.validation import validate_non_negative_float
from tf_neuronselect.utils.validation import validate_unit_interval

METHODS = ("group-lasso", "sparse-group-lasso", "li-lo", "gate", "tri-state", "dense")
ARCHITECTURES = ("lenet5", "mlp", "vgg")
# Strengths that shrink LeNet-5 / LeNet-300-100 on MNIST a lot at about dense accuracy.
DEFAULT_STRENGTH = {
    "group-lasso": 1e-3, "sparse-group-lasso": 1e-3, "li-lo": 1e-3, "gate": 1e-3,
    "tri-state": 6e-6, "dense": 0.0,
}
WIDTHS = {"lenet5": (20, 50, 500), "mlp": (300, 100), "vgg": (32, 32, 64, 64, 128, 256)}
L = keras.layers


def _penalty(method, strength):
    if method == "group-lasso":
        return GroupLasso(strength)
    if method == "sparse-group-lasso":
        return SparseGroupLasso(strength, alpha=0.5)
    if method == "li-lo":
        return DropNeuron(li=strength, lo=strength, l1=strength / 10)
    return None


def tri_state_kwargs(strength, linearity=0.0):
    """The TriStateReLU arguments of the ``"tri-state"`` recipe at ``strength``.

    Straight-through gates (the training forward pass is the binarized inference network:
    with real-valued gates training settles on mid-range gates that binarize into a broken
    net), ``complexity_measure="fan_in"`` (each unit pays ``strength`` per live incoming
    weight, so a flattened fc1 layer shrinks before the conv channels feeding it are starved),
    no binarizing penalty (it only delays pruning under the straight-through estimator).

    Depth: with ``linearity=0`` (default) the depth gate is fixed at ReLU (max-pooling follows
    the conv layers, and an unpenalised straight-through depth gate may flip a layer to
    linear). With ``linearity > 0`` the depth gates learn too, straight-through like the
    width gates, in the same run (no schedule): every depth gate is pulled towards linear at
    that rate and the training loss pulls back; a layer that turns linear no longer pays for
    its width (the complexity term counts non-linear layers only), and
    ``shrink(collapse_linear=True)`` merges it into the next Dense.
    ``benchmarks/bench_tri_state_depth.py`` measures this on an MLP of 6 x 256 units for MNIST
    (``tri_state_kwargs(3e-7, linearity=1e-2)``, Adam at 1e-3 with cosine decay).
    """
    linearity = validate_non_negative_float(linearity, "linearity", "tri_state_kwargs")
    return {"complexity": strength, "straight_through": True, "complexity_measure": "fan_in",
            "learn_depth": linearity > 0, "linearity": linearity}


def _hidden(layer_factory, method, strength, activation="relu", scale=None, name=None):
    """Applies one hidden layer the way ``method`` wants it (penalty, gate or tri-state)."""
    strength = strength * (scale or {}).get(name, 1.0)

    def apply(x):
        if method == "tri-state":
            x = layer_factory(activation=None)(x)
            return TriStateReLU(**tri_state_kwargs(strength))(x)
        x = layer_factory(activation=activation, kernel_regularizer=_penalty(method, strength))(x)
        return Gate(l1=strength * 10)(x) if method == "gate" else x
    return apply


def _dropout(rate, x):
    return L.Dropout(rate)(x) if rate else x


def lenet5(input_shape, num_classes, method, strength, layer_scale=None, widths=None,
           dropout=0.0):
    """LeNet-5-Caffe: conv 20 5x5, pool, conv 50 5x5, pool, dense 500, dense classes."""
    c1, c2, d1 = widths or WIDTHS["lenet5"]
    kw = {"scale": layer_scale}
    inputs = keras.Input(input_shape)
    x = _hidden(lambda **a: L.Conv2D(c1, 5, name="conv1", **a), method, strength, name="conv1",
                **kw)(inputs)
    x = L.MaxPooling2D(2, name="pool1")(x)
    x = _hidden(lambda **a: L.Conv2D(c2, 5, name="conv2", **a), method, strength, name="conv2",
                **kw)(x)
    x = L.MaxPooling2D(2, name="pool2")(x)
    x = L.Flatten(name="flatten")(x)
    x = _hidden(lambda **a: L.Dense(d1, name="fc1", **a), method, strength, name="fc1", **kw)(x)
    x = _dropout(dropout, x)
    return keras.Model(inputs, L.Dense(num_classes, name="logits")(x), name=f"lenet5_{method}")


def mlp(input_shape, num_classes, method, strength, layer_scale=None, widths=None,
        dropout=0.0):
    """LeNet-300-100: dense 300, dense 100, dense classes on flattened inputs."""
    h1, h2 = widths or WIDTHS["mlp"]
    kw = {"scale": layer_scale}
    inputs = keras.Input(input_shape)
    x = L.Flatten(name="flatten")(inputs)
    x = _hidden(lambda **a: L.Dense(h1, name="fc1", **a), method, strength, name="fc1", **kw)(x)
    x = _dropout(dropout, x)
    x = _hidden(lambda **a: L.Dense(h2, name="fc2", **a), method, strength, name="fc2", **kw)(x)
    x = _dropout(dropout, x)
    return keras.Model(inputs, L.Dense(num_classes, name="logits")(x), name=f"mlp_{method}")


def vgg(input_shape, num_classes, method, strength, layer_scale=None, widths=None,
        dropout=0.0):
    """A small VGG-style net: conv 3x3 32, conv 32, pool, conv 64, conv 64, pool, conv 128, pool,
    dense 256, dense classes ('same' padding, ReLU, He-normal initialization; no batch
    normalization: it would make the kernels' group penalties scale-invariant). About 22M
    multiply-adds per 28x28 image."""
    *convs, d1 = widths or WIDTHS["vgg"]
    kw = {"scale": layer_scale}
    inputs = keras.Input(input_shape)
    x, pools = inputs, 0
    for index, width in enumerate(convs, 1):
        name = f"conv{index}"
        x = _hidden(lambda w=width, n=name, **a: L.Conv2D(
            w, 3, padding="same", kernel_initializer="he_normal", name=n, **a),
            method, strength, name=name, **kw)(x)
        if index in (2, 4, 5):  # 2x2 max pooling after conv2, conv4 and conv5
            pools += 1
            x = L.MaxPooling2D(2, name=f"pool{pools}")(x)
    x = L.Flatten(name="flatten")(x)
    x = _hidden(lambda **a: L.Dense(d1, kernel_initializer="he_normal", name="fc1", **a),
                method, strength, name="fc1", **kw)(x)
    x = _dropout(dropout, x)
    return keras.Model(inputs, L.Dense(num_classes, name="logits")(x), name=f"vgg_{method}")


def build(arch, method, input_shape, num_classes, strength=None, layer_scale=None, widths=None,
          dropout=0.0):
    """The ``arch`` network (``"lenet5"``, ``"mlp"`` or ``"vgg"``) set up for ``method``.

    ``layer_scale``: optional ``{layer name: multiplier}`` of ``strength``; ``widths``:
    optional hidden widths (``(conv1, conv2, fc1)``, ``(fc1, fc2)`` or
    ``(conv1, ..., conv5, fc1)``); ``dropout``: rate of a Dropout after each hidden Dense layer.
    """
    validate_choice(arch, "arch", ARCHITECTURES, "recipes.build")
    validate_choice(method, "method", METHODS, "recipes.build")
    dropout = validate_unit_interval(dropout, "dropout", "recipes.build")
    strength = DEFAULT_STRENGTH[method] if strength is None else strength
    strength = validate_non_negative_float(strength, "strength", "recipes.build")
    factory = {"lenet5": lenet5, "mlp": mlp, "vgg": vgg}[arch]
    return factory(tuple(input_shape), int(num_classes), method, strength,
                   layer_scale=layer_scale, widths=widths, dropout=dropout)


def _scaled_rate(learning_rate, factor):
    """``learning_rate * factor`` for a float, or the same schedule with a scaled start."""
    if not isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        return learning_rate * factor
    config = learning_rate.get_config()
    if "initial_learning_rate" not in config:
        raise ValueError(
            "recipes.optimizer_for: expected `learning_rate` to be a float or a schedule with "
            f"an `initial_learning_rate`. Received: {type(learning_rate).__name__}. How to "
            "fix: pass a float or e.g. keras.optimizers.schedules.CosineDecay."
        )
    config["initial_learning_rate"] *= factor
    return type(learning_rate).from_config(config)


def optimizer_for(method, learning_rate=0.05):
    """Proximal SGD with momentum for the penalty and gate methods (plain SGD for ``"dense"``,
    which has no proximal penalty); Adam at 1/50 of ``learning_rate``
    for tri-state. ``learning_rate`` is a float or a schedule with an ``initial_learning_rate``
    (e.g. ``keras.optimizers.schedules.CosineDecay``); tri-state gates need a decaying rate to
    settle (see ``TriStateReLU``)."""
    validate_choice(method, "method", METHODS, "recipes.optimizer_for")
    if method == "tri-state":
        return ProximalAdam(_scaled_rate(learning_rate, 1 / 50))
    if method == "dense":
        return keras.optimizers.SGD(learning_rate, momentum=0.9)
    return ProximalSGD(learning_rate, momentum=0.9)
