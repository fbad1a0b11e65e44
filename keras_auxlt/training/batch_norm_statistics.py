"""Re-estimating a trained model's BatchNorm moving statistics from one training stream.

An AuxLT step normalises the joint batch [x_b; x_r], so the moving statistics inference uses
describe a mix of the balanced and the random stream's images; a `balanced` run's describe the
balanced batches alone, which repeat the few tail images many times. Re-estimating them after
training runs the backbone in training mode over batches of one stream (no gradient, no
optimizer: every other weight stays as it is). Used by train.py's `--inference_statistics`
(why: docs/experiments/2026-11-29-test-time-statistics.md).

Sources:
    as_trained  the checkpoint's own statistics (nothing re-estimated)
    joint       [balanced; random] batches, plus the rotated copies for a model with a rotation
                head, as an auxlt training step concatenates them
    balanced    the balanced stream's batches alone (the run's --balanced_sampler)
    random      the random stream's batches alone (instance sampling)

The re-estimate is the training-time exponential moving average (BatchNorm momentum 0.9); over
100 batches the previous values weigh 0.9^100 < 1e-4 in it.
"""

import tensorflow as tf
from tqdm.auto import tqdm

from keras_auxlt.choices import STATISTICS_SOURCES
from keras_auxlt.data.pipeline import sampled_stream, stream_sampler
from keras_auxlt.models import aux_tasks as tasks
from keras_auxlt.training.config import DEFAULT_STATISTICS_STEPS


def stream_images(stream, train, pipeline, start_step, rotation=False):
    """Batches of training images (no labels) as `stream` draws them from `start_step` on.

    `start_step` is the run's total step count, so the batches are ones the run never trained on;
    they are functions of the step and the seed, hence the same on every call."""
    if stream not in STATISTICS_SOURCES[1:]:
        raise ValueError(f"Unknown statistics stream. Accepted: {', '.join(STATISTICS_SOURCES[1:])}. Received: {stream!r}")

    def images(name):
        return sampled_stream(train, stream_sampler(name, pipeline), pipeline, start_step).map(lambda x, y: x)

    if stream != "joint":
        return images(stream)

    def joint(step, x_b, x_r):
        parts = [x_b, x_r]
        if rotation:  # the rotated copies and angles of that training step (the run seed is the pipeline's)
            parts.append(tasks.rotate_batch(x_r, tasks.rotation_targets(tf.shape(x_r)[0], pipeline.seed, step)))
        return tf.concat(parts, axis=0)

    return tf.data.Dataset.zip(tf.data.Dataset.range(start_step, start_step + 2**62), images("balanced"),
                               images("random")).map(joint)


def reestimate_batch_norm(model, batches, steps, progress=True, desc="re-estimating BatchNorm statistics"):
    """Run the backbone in training mode over `steps` batches: only the BatchNorm moving statistics change.

    The backbone is made trainable for the passes (a frozen BatchNorm, e.g. crt's stage 2, would
    otherwise run in inference mode and keep its statistics), then put back as it was."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1. Received: {steps}")
    was_trainable = model.backbone.trainable
    model.backbone.trainable = True
    forward = tf.function(lambda x: model.features(x, training=True))
    try:
        for x in tqdm(batches.take(steps), total=steps, desc=desc, disable=not progress, mininterval=2.0):
            forward(x)
    finally:
        model.backbone.trainable = was_trainable


def with_statistics_from(model, stream, train, pipeline, start_step, steps=DEFAULT_STATISTICS_STEPS, progress=True):
    """`model` with its BatchNorm statistics re-estimated from `stream` (in place; as_trained: unchanged)."""
    if stream != "as_trained":
        batches = stream_images(stream, train, pipeline, start_step, rotation="rotation" in model.aux_tasks)
        reestimate_batch_norm(model, batches, steps, progress=progress, desc=f"BatchNorm statistics from {stream} batches")
    return model
