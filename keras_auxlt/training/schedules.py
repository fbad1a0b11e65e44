"""Learning-rate schedules by step: linear warm-up, then multi-step decay or cosine."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_auxlt")
class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """lr(step) = base * (step + 1) / warmup_steps during warm-up, then

    - "multistep": base * factors[i] from boundaries[i] on (factors are relative to base);
    - "cosine":    base * 0.5 * (1 + cos(pi * progress)) over the remaining steps.
    """

    def __init__(self, base_lr, warmup_steps, total_steps, kind="multistep", boundaries=(), factors=()):
        if kind not in ("multistep", "cosine"):
            raise ValueError(f"Unknown schedule. Accepted: multistep, cosine. Received: kind={kind!r}")
        if len(boundaries) != len(factors):
            raise ValueError(f"One factor per boundary. Received: boundaries={list(boundaries)}, factors={list(factors)}")
        self.base_lr = float(base_lr)
        self.warmup_steps = int(warmup_steps)
        self.total_steps = int(total_steps)
        self.kind = kind
        self.boundaries = [int(b) for b in boundaries]
        self.factors = [float(f) for f in factors]

    def __call__(self, step):
        step = ops.cast(step, "float32")
        warm = self.base_lr * ops.minimum(1.0, (step + 1.0) / max(self.warmup_steps, 1))
        if self.kind == "cosine":
            span = max(self.total_steps - self.warmup_steps, 1)
            progress = ops.clip((step - self.warmup_steps) / span, 0.0, 1.0)
            decayed = self.base_lr * 0.5 * (1.0 + ops.cos(3.141592653589793 * progress))
        else:
            decayed = ops.convert_to_tensor(self.base_lr, "float32")
            for boundary, factor in zip(self.boundaries, self.factors):
                decayed = ops.where(step >= boundary, self.base_lr * factor, decayed)
        if self.warmup_steps <= 0:
            return decayed
        return ops.where(step < self.warmup_steps, warm, decayed)

    def get_config(self):
        return {"base_lr": self.base_lr, "warmup_steps": self.warmup_steps, "total_steps": self.total_steps,
                "kind": self.kind, "boundaries": self.boundaries, "factors": self.factors}
