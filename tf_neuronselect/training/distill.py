"""Knowledge distillation for ``compress``: the compact student learns the task and the
original model's outputs (Hinton et al. 2015, softened with a temperature)."""

import keras
from keras import ops

_CLASSIFICATION = (keras.losses.SparseCategoricalCrossentropy,
                   keras.losses.CategoricalCrossentropy)


def check_distillable(loss):
    """Raises ``ValueError`` unless ``loss`` is a categorical cross-entropy object."""
    if not isinstance(loss, _CLASSIFICATION):
        raise ValueError(
            "compress: expected a model compiled with a keras.losses.(Sparse)"
            "CategoricalCrossentropy object for distill=True (distillation matches class "
            f"distributions). Received: loss={loss!r}. How to fix: compile with "
            "loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), or pass "
            "distill=False."
        )


class Distiller(keras.Model):
    """Trains ``student`` on ``(1 - alpha) * task loss + alpha * T^2 * KL(teacher || student)``
    with both outputs softened by ``temperature``. ``teacher`` is frozen: pass a copy of the
    original model (freezing sets ``trainable`` on it)."""

    def __init__(self, student, teacher, task_loss, alpha=0.5, temperature=4.0, **kwargs):
        super().__init__(**kwargs)
        self.student, self.teacher = student, teacher
        self.teacher.trainable = False
        self.task_loss = task_loss
        self.from_logits = bool(getattr(task_loss, "from_logits", False))
        self.alpha, self.temperature = float(alpha), float(temperature)

    def call(self, inputs, training=None):
        return self.student(inputs, training=training)

    def _soft(self, outputs):
        logits = outputs if self.from_logits else ops.log(ops.clip(outputs, 1e-7, 1.0))
        return ops.log_softmax(logits / self.temperature, axis=-1)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        task = self.task_loss(y, y_pred)
        teacher = self._soft(ops.stop_gradient(self.teacher(x, training=False)))
        student = self._soft(y_pred)
        kl = ops.mean(ops.sum(ops.exp(teacher) * (teacher - student), axis=-1))
        loss = (1.0 - self.alpha) * task + self.alpha * self.temperature ** 2 * kl
        if self.losses:
            loss = loss + ops.sum(self.losses)
        return loss
