"""Ready-made networks for each neuron-selection method: the demo's and benchmarks' models.

``build(arch, method, input_shape, num_classes, strength)`` returns an uncompiled Keras model
whose hidden layers carry the method's penalty or gates, and ``optimizer_for(method)`` the
optimizer that method is trained with.
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

METHODS = ("group-lasso", "sparse-group-lasso", "li-lo", "gate", "tri-state", "dense")
ARCHITECTURES = ("lenet5", "mlp")
# Strengths that shrink LeNet-5 / LeNet-300-100 on MNIST a lot at about dense accuracy.
DEFAULT_STRENGTH = {
    "group-lasso": 1e-3, "sparse-group-lasso": 1e-3, "li-lo": 1e-3, "gate": 1e-3,
    "tri-state": 1e-5, "dense": 0.0,
}
L = keras.layers


def _penalty(method, strength):
    if method == "group-lasso":
        return GroupLasso(strength)
    if method == "sparse-group-lasso":
        return SparseGroupLasso(strength, alpha=0.5)
    if method == "li-lo":
        return DropNeuron(li=strength, lo=strength, l1=strength / 10)
    return None


def _hidden(layer_factory, method, strength, activation="relu"):
    """Applies one hidden layer the way ``method`` wants it (penalty, gate or tri-state)."""
    def apply(x):
        if method == "tri-state":
            x = layer_factory(activation=None)(x)
            return TriStateReLU(binarize=strength * 10, complexity=strength)(x)
        x = layer_factory(activation=activation, kernel_regularizer=_penalty(method, strength))(x)
        return Gate(l1=strength * 10)(x) if method == "gate" else x
    return apply


def lenet5(input_shape, num_classes, method, strength):
    """LeNet-5-Caffe: conv 20 5x5, pool, conv 50 5x5, pool, dense 500, dense classes."""
    inputs = keras.Input(input_shape)
    x = _hidden(lambda **kw: L.Conv2D(20, 5, name="conv1", **kw), method, strength)(inputs)
    x = L.MaxPooling2D(2, name="pool1")(x)
    x = _hidden(lambda **kw: L.Conv2D(50, 5, name="conv2", **kw), method, strength)(x)
    x = L.MaxPooling2D(2, name="pool2")(x)
    x = L.Flatten(name="flatten")(x)
    x = _hidden(lambda **kw: L.Dense(500, name="fc1", **kw), method, strength)(x)
    return keras.Model(inputs, L.Dense(num_classes, name="logits")(x), name=f"lenet5_{method}")


def mlp(input_shape, num_classes, method, strength):
    """LeNet-300-100: dense 300, dense 100, dense classes on flattened inputs."""
    inputs = keras.Input(input_shape)
    x = L.Flatten(name="flatten")(inputs)
    x = _hidden(lambda **kw: L.Dense(300, name="fc1", **kw), method, strength)(x)
    x = _hidden(lambda **kw: L.Dense(100, name="fc2", **kw), method, strength)(x)
    return keras.Model(inputs, L.Dense(num_classes, name="logits")(x), name=f"mlp_{method}")


def build(arch, method, input_shape, num_classes, strength=None):
    """The ``arch`` network (``"lenet5"`` or ``"mlp"``) set up for ``method``."""
    validate_choice(arch, "arch", ARCHITECTURES, "recipes.build")
    validate_choice(method, "method", METHODS, "recipes.build")
    strength = DEFAULT_STRENGTH[method] if strength is None else strength
    strength = validate_non_negative_float(strength, "strength", "recipes.build")
    factory = lenet5 if arch == "lenet5" else mlp
    return factory(tuple(input_shape), int(num_classes), method, strength)


def optimizer_for(method, learning_rate=0.05):
    """Proximal SGD with momentum for the penalty and gate methods; Adam for tri-state."""
    validate_choice(method, "method", METHODS, "recipes.optimizer_for")
    if method == "tri-state":
        return ProximalAdam(learning_rate / 50)
    return ProximalSGD(learning_rate, momentum=0.9)
