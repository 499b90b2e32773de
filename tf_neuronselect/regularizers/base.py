"""The contract between penalties and the proximal optimizers."""

import keras
from keras import ops


class ProximalPenalty(keras.regularizers.Regularizer):
    """A penalty with a smooth part and a non-smooth part that has a closed-form prox.

    Used as an ordinary Keras regularizer (any optimizer), ``__call__`` returns the whole
    penalty and training follows its subgradient. When a proximal optimizer
    (``ProximalSGD``/``ProximalAdam``) builds on a variable carrying this penalty, it sets
    ``handled_proximally`` and from then on applies ``prox`` after every update; ``__call__`` then
    returns only the smooth part, so the non-smooth part is never counted twice. Create a fresh
    penalty (or set ``handled_proximally = False``) to train the same layers with a plain optimizer
    afterwards.

    Keras builds the optimizer lazily, inside the first traced training step, after the loss of
    that step has been traced with the whole penalty. ``in_last_loss`` records whether the last
    call put the non-smooth part into the loss; the optimizer then subtracts
    ``nonsmooth_gradient`` from that step's gradient, so even the first traced step is an exact
    proximal step.

    Subclasses implement ``nonsmooth_penalty``, ``nonsmooth_gradient``, ``prox`` and
    ``get_config``; ``smooth_penalty`` defaults to zero. ``include_bias`` says whether the prox
    wants the layer's bias in each unit's group.
    """

    include_bias = False

    def __init__(self):
        self.handled_proximally = False
        self.in_last_loss = False

    def __call__(self, x):
        x = ops.cast(x, "float32")
        value = self.smooth_penalty(x)
        self.in_last_loss = not self.handled_proximally
        if self.in_last_loss:
            value = value + self.nonsmooth_penalty(x)
        return value

    def smooth_penalty(self, x):
        return ops.zeros((), dtype=x.dtype)

    def nonsmooth_penalty(self, x):
        raise NotImplementedError

    def nonsmooth_gradient(self, x):
        """The gradient autodiff takes of ``nonsmooth_penalty`` (0 at exact zeros)."""
        raise NotImplementedError

    def prox(self, x, step, bias=None):
        """Returns ``(x, bias)`` after the proximal step of size ``step`` (the learning rate)."""
        raise NotImplementedError

    def metric_step(self, step, metric, bias_metric=None):
        """The ``step`` argument of ``prox`` under a diagonal metric, or None where this
        penalty has none (``ProximalAdam(adaptive_prox=True)`` then refuses it).

        ``metric`` holds each entry's denominator of the optimizer's step (Adam's
        ``sqrt(v_hat) + epsilon``), ``bias_metric`` the bias's when ``prox`` gets one.
        """
        del step, metric, bias_metric
        return None
