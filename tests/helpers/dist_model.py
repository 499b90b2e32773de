"""The model both distributed-training scripts train (``python -m tests.distributed_script``
and ``python -m tests.multiworker_script``, from the repository root)."""

import keras

import tf_neuronselect as ns


def build(optimizer_name):
    """Penalties, a gate, a tri-state layer and a proximal optimizer: every training-side
    object whose state must stay equal across replicas and workers."""
    keras.utils.set_random_seed(7)
    inputs = keras.Input((12,))
    x = keras.layers.Dense(16, activation="relu", kernel_regularizer=ns.GroupLasso(0.3))(inputs)
    x = ns.Gate(l1=0.1)(x)
    adaptive = optimizer_name == "adam-adaptive"  # reads other variables' Adam slots
    # DropNeuron and Binarizing have no prox in Adam's metric: the adaptive run leaves them out.
    penalty = ns.SparseGroupLasso(0.02) if adaptive else ns.DropNeuron(li=0.05, lo=0.02, l2=1e-3)
    x = keras.layers.Dense(8, kernel_regularizer=penalty)(x)
    x = ns.TriStateReLU(binarize=0.0 if adaptive else 1e-2, complexity=1e-4)(x)
    model = keras.Model(inputs, keras.layers.Dense(2)(x))
    optimizer = (ns.ProximalSGD(0.05, momentum=0.9) if optimizer_name == "sgd"
                 else ns.ProximalAdam(0.05, adaptive_prox=adaptive, prox_warmup_steps=4))
    model.compile(optimizer, keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model
