"""Attaching penalties to a model: per layer kernel, or per unit group."""

import keras

from tf_neuronselect.penalties.kernels import add_kernel_penalties
from tf_neuronselect.penalties.unit_groups import add_unit_group_penalties
from tf_neuronselect.utils.validation import validate_choice

OVER = ("kernels", "unit_groups")


def add_penalty(model, penalty, layers=None, over="kernels"):
    """Attaches ``penalty`` to ``model``; call it before ``model.compile``.

    ``over="kernels"`` puts a copy of ``penalty`` on the unit kernel of each selected layer,
    with the layer's kernel layout (``"transposed"`` for ConvTranspose, ``"depthwise"`` for
    DepthwiseConv, the pointwise kernel of SeparableConv): one layer's units are its groups.

    ``over="unit_groups"`` puts one sparse group lasso on the model's unit groups
    (``tf_neuronselect.unit_groups``): each group spans every slice that produces its channels
    and that they carry (the convolution column and bias, the BatchNorm gamma and beta, the
    depthwise channel, residual partners), so a group driven to zero is exactly removable
    anywhere. It needs ``ProximalSGD`` or ``ProximalAdam``, which apply it in closed form
    across the variables; ``penalty`` is a ``GroupLasso`` or ``SparseGroupLasso`` whose
    strength, alpha and group-size weighting it takes.

    Either way each variable's ``*_regularizer`` config attribute is set too, so the penalty
    is saved with the model.

    Args:
        model: a built Keras model.
        penalty: a ``keras.regularizers.Regularizer``, typically a tf_neuronselect penalty.
        layers: names or layer objects: the layers to penalize (``"kernels"``) or whose
            groups to penalize (``"unit_groups"``: the groups they produce); None means all.
        over: ``"kernels"`` or ``"unit_groups"``.

    Returns:
        The names of the layers that received a penalty.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"add_penalty: expected a keras.Model. Received: model={model!r} of type "
            f"{type(model).__name__}. Pass the built model whose layers should be penalized."
        )
    if not isinstance(penalty, keras.regularizers.Regularizer):
        raise TypeError(
            "add_penalty: expected `penalty` to be a keras.regularizers.Regularizer such as "
            f"tf_neuronselect.GroupLasso(1e-3). Received: penalty={penalty!r}."
        )
    validate_choice(over, "over", OVER, "add_penalty")
    if over == "unit_groups":
        return add_unit_group_penalties(model, penalty, layers)
    return add_kernel_penalties(model, penalty, layers)


__all__ = ["add_penalty"]
