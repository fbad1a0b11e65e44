"""`AuxLTModel`: backbone + primary head trained on the balanced stream, auxiliary heads on the random one.

One training step takes `((x_b, y_b), (x_r, y_r))`, runs the backbone once on the
concatenated batch (one BatchNorm batch, `stream_batch_norm="joint"`, method.md's step) and
splits the features back:

    L = CE(g_p(F_b), y_b) + sum_k lambda_k * L_aux_k(F_r, y_r) + L2

(a baseline swaps the CE of the primary head for its own loss: `primary_loss.PrimaryLoss`).

Gradient routing (pinned by tests/models/test_gradient_routing.py):
- the primary head learns from the balanced stream only;
- every auxiliary loss reaches the backbone (unless `aux_detach_features`) and its own head;
- wherever the random stream touches the primary head's weights (`random_shared`) they sit
  behind `tf.stop_gradient`.

`stream_batch_norm="separate"` (an option, not method.md's step) runs the backbone on each
stream alone, so BatchNorm normalises each stream with its own batch moments, and keeps the
moving statistics of the balanced stream only: the statistics inference uses are those of the
batches the primary head learned from. With `aux_detach_features` the balanced stream then
trains exactly as plain class-balanced training does (tests/models/test_stream_batch_norm.py).

With a plain `(x, y)` batch the step trains the primary head alone (the single-stream
baselines; `single_stream` names the stream that batch comes from, which --mixup_streams may list).
`call()` returns the primary logits only: that is what is evaluated and exported.

Layer names follow the heads: `primary_head`, and `<task>_head` for each auxiliary task. Checkpoints
saved before the streams had their names (2026-12-06) load as they were trained (`from_config`).
"""

import functools

import keras
import numpy as np
import tensorflow as tf

from keras_auxlt import renamed
from keras_auxlt.choices import (
    AUX_TASKS,
    CLASS_COUNT_TASKS,
    CLASSIFIERS,
    DRW_NORMALISATIONS,
    LAMBDA_SCHEDULES,
    LEGACY_DRW_NORMALISATION,
    MIXUP_STREAMS,
    PRIMARY_LOSSES,
    STREAM_BATCH_NORMS,
    STREAMS,
)
from keras_auxlt.keras_compat import build_optimizer_only, in_multi_worker_mode, unscale_loss_for_distribution
from keras_auxlt.models import aux_tasks as tasks
from keras_auxlt.models import class_priors, mixup
from keras_auxlt.models.backbones import LEGACY_STRIDED_PADDING, STRIDED_PADDING, build_backbone
from keras_auxlt.models.layers import CosineDense, PixelNormalization, ScaledDense, conv_init
from keras_auxlt.models.primary_loss import PrimaryLoss

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2023, 0.1994, 0.2010)


@keras.saving.register_keras_serializable(package="keras_auxlt")
class AuxLTModel(keras.Model):
    def __init__(self, backbone="resnet32", num_classes=10, image_size=32, aux_tasks=("random",), aux_weights=None,
                 lambda_schedule="constant", total_steps=0, aux_detach_features=False, class_counts=None,
                 weight_decay=0.0, mean=CIFAR_MEAN, std=CIFAR_STD, seed=0, sync_batch_norm=False, primary_loss="ce",
                 drw_start_step=0, logit_adjust_tau=1.0, freeze_backbone=False, stream_batch_norm="joint", mixup_alpha=0.0,
                 mixup_streams=MIXUP_STREAMS, strided_padding=STRIDED_PADDING, classifier="linear",
                 label_smoothing=(0.0, 0.0), single_stream="random", drw_normalisation="sum_of_weights",
                 classifier_lr_factor=1.0, **kwargs):
        super().__init__(**kwargs)
        aux_tasks = tuple(aux_tasks)
        aux_weights = tuple(float(w) for w in (aux_weights if aux_weights is not None else [1.0] * len(aux_tasks)))
        mixup_streams = tuple(mixup_streams)
        label_smoothing = tuple(float(e) for e in label_smoothing)
        _check_arguments(num_classes, aux_tasks, aux_weights, lambda_schedule, total_steps, class_counts, weight_decay,
                         primary_loss, stream_batch_norm, mixup_alpha, mixup_streams, classifier, label_smoothing,
                         single_stream, drw_normalisation, classifier_lr_factor)

        # Layers.
        self.normalize = PixelNormalization(mean, std, name="normalize")
        self.backbone = self._build_backbone(backbone, image_size, sync_batch_norm, strided_padding)
        self.backbone.trainable = not freeze_backbone  # frozen: no updates, BatchNorm in inference mode
        self.primary_head = self._classifier(classifier, num_classes)
        self.aux_heads = {}  # one per auxiliary task with a head of its own, in this order (checkpoints rely on it)
        for task in ("random", "reweighted", "rotation", "random_adjusted"):
            if task in aux_tasks:
                units = tasks.NUM_ROTATIONS if task == "rotation" else num_classes
                self.aux_heads[task] = self._linear(units, f"{task}_head")

        # Losses: the primary head's, and the auxiliary class tasks' ingredients (float32 under mixed precision too).
        self._primary_loss = PrimaryLoss(primary_loss, num_classes, class_counts, drw_start_step, logit_adjust_tau,
                                         label_smoothing, drw_normalisation)
        floatx = keras.config.floatx()
        self._class_weights = (tf.constant(class_priors.effective_number_weights(class_counts), floatx)
                               if "reweighted" in aux_tasks else None)
        self._log_prior = (tf.constant(class_priors.log_prior(class_counts), floatx)
                           if "random_adjusted" in aux_tasks else None)
        self._ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

        # Loss and accuracy trackers: one Mean per loss.
        self._trackers = {"loss": keras.metrics.Mean(name="loss"),
                          "primary_loss": keras.metrics.Mean(name="primary_loss"),
                          "primary_acc": keras.metrics.SparseCategoricalAccuracy(name="primary_acc")}
        for task in aux_tasks:
            self._trackers[f"{task}_loss"] = keras.metrics.Mean(name=f"{task}_loss")
            self._trackers[f"{task}_acc"] = keras.metrics.SparseCategoricalAccuracy(name=f"{task}_acc")
        if weight_decay:
            self._trackers["l2_loss"] = keras.metrics.Mean(name="l2_loss")

        # Config: one attribute per constructor argument.
        self.backbone_name = backbone
        self.num_classes = num_classes
        self.image_size = image_size
        self.aux_tasks = aux_tasks
        self.aux_weights = aux_weights
        self.lambda_schedule = lambda_schedule
        self.total_steps = int(total_steps)
        self.aux_detach_features = bool(aux_detach_features)
        self.class_counts = None if class_counts is None else [int(c) for c in class_counts]
        self.weight_decay = float(weight_decay)
        self.mean = tuple(mean)
        self.std = tuple(std)
        self.seed = int(seed)
        self.sync_batch_norm = bool(sync_batch_norm)
        self.strided_padding = strided_padding
        self.primary_loss = primary_loss
        self.drw_start_step = int(drw_start_step)
        self.logit_adjust_tau = float(logit_adjust_tau)
        self.freeze_backbone = bool(freeze_backbone)
        self.stream_batch_norm = stream_batch_norm
        self.mixup_alpha = float(mixup_alpha)
        self.mixup_streams = mixup_streams
        self.single_stream = single_stream
        self.drw_normalisation = drw_normalisation
        self.classifier = classifier
        self.classifier_lr_factor = float(classifier_lr_factor)
        self.label_smoothing = label_smoothing

    @staticmethod
    def _build_backbone(name, image_size, sync_batch_norm, strided_padding):
        return build_backbone(name, (image_size, image_size, 3), sync_bn=sync_batch_norm,
                              strided_padding=strided_padding)

    @classmethod
    def _classifier(cls, kind, num_classes):
        """The primary head: linear, LDAM's cosine classifier, or linear with learnable weight scaling."""
        if kind == "cosine":
            return CosineDense(num_classes, class_priors.LDAM_SCALE, name="primary_head")
        if kind == "scaled":
            return ScaledDense(num_classes, name="primary_head")
        return cls._linear(num_classes, "primary_head")

    @staticmethod
    def _linear(units, name):
        return keras.layers.Dense(units, kernel_initializer=conv_init(), name=name)

    def build(self, input_shape=None):
        """Build every head, auxiliary ones included, so saving never drops their weights."""
        if not self.normalize.built:
            self.normalize.build((None, self.image_size, self.image_size, 3))
        feature_dim = self.backbone.output_shape[-1]
        for head in [self.primary_head, *self.aux_heads.values()]:
            if not head.built:
                head.build((None, feature_dim))
        self.built = True

    def features(self, images, training=False):
        return self.backbone(self.normalize(images), training=training)

    def call(self, images, training=False):
        return self.primary_head(self.features(images, training=training))

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Keras (TensorFlow backend) builds model state from a sample batch that it first averages
        with `strategy.reduce`, which MultiWorkerMirroredStrategy cannot do on nested (dual-stream)
        batches. This model builds every layer in build() and compiles no loss or metric objects, so
        only the optimizer is left to build: do that without touching the data (keras_compat)."""
        if not build_optimizer_only(self):
            super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def primary_model(self, name="primary"):
        """A functional model images -> primary logits over this model's own layers (no auxiliary head).

        Inference only (BatchNorm in inference mode): what export and deployment need.
        """
        images = keras.Input((self.image_size, self.image_size, 3), name="images")
        return keras.Model(images, self.call(images, training=False), name=name)

    # ----------------------------------------------------------------------------- training

    def compute_task_losses(self, data, training=True):
        """Named unweighted losses of one batch, plus (labels, logits) for the accuracy trackers.

        Losses are Keras `Loss` values: means over the per-replica batch, already divided by the
        number of replicas (the one place distribution scaling happens).
        """
        if not _is_dual_stream(data):
            x, y = data
            x, mix = self._mixup(x, self.single_stream, "primary", training)
            logits = self(x, training=training)
            loss = mixup.mixed_loss(functools.partial(self.primary_task_loss, logits=logits), y, mix)
            return {"primary": loss}, {"primary": (y, logits)}
        (x_b, y_b), (x_r, y_r) = data
        x_b, mix_b = self._mixup(x_b, "balanced", "primary", training)
        x_r, mix_r = self._mixup(x_r, "random", "auxiliary", training)
        batch_b = tf.shape(x_b)[0]
        batch_r = tf.shape(x_r)[0]
        images = [x_b, x_r]
        if "rotation" in self.aux_tasks:
            k = tasks.rotation_targets(batch_r, self.seed, self._step())
            images.append(tasks.rotate_batch(x_r, k))
        if self.stream_batch_norm == "joint":
            features = self.features(tf.concat(images, axis=0), training=training)
            f_b, aux_features = features[:batch_b], features[batch_b:]
        else:
            aux_features = self._features_keeping_moving_statistics(tf.concat(images[1:], axis=0), training)
            f_b = self.features(x_b, training=training)
        if self.aux_detach_features:
            aux_features = tf.stop_gradient(aux_features)
        aux_r = aux_features[:batch_r]

        logits_b = self.primary_head(f_b)
        losses = {"primary": mixup.mixed_loss(functools.partial(self.primary_task_loss, logits=logits_b), y_b, mix_b)}
        outputs = {"primary": (y_b, logits_b)}
        for task in self.aux_tasks:
            if task == "rotation":  # the rotation of the (mixed) image is the target: nothing to mix
                logits = self.aux_heads["rotation"](aux_features[batch_r:])
                losses[task], outputs[task] = self._ce(k, logits), (k, logits)
                continue
            logits = self._class_task_logits(task, aux_r)
            losses[task] = mixup.mixed_loss(functools.partial(self._class_task_loss, task, logits), y_r, mix_r)
            outputs[task] = (y_r, logits)
        return losses, outputs

    def _mixup(self, images, stream, heads, training):
        """(images, Mix) of a stream's batch under mixup, or (images, None) when that stream is not mixed.
        `heads`: the heads that learn from the batch (mixup.sample's draws depend on it)."""
        if not training or not self.mixup_alpha or stream not in self.mixup_streams:
            return images, None
        mix = mixup.sample(tf.shape(images)[0], self.mixup_alpha, self.seed, self._step(), heads)
        return mixup.mix_images(images, mix), mix

    def _class_task_logits(self, task, features):
        """Class logits of an auxiliary task on the random stream's features."""
        if task == "random_shared":  # the primary head's weights, behind a stop-gradient
            kernel = tf.stop_gradient(tf.cast(self.primary_head.kernel, features.dtype))
            bias = tf.stop_gradient(tf.cast(self.primary_head.bias, features.dtype))
            return tf.matmul(features, kernel) + bias
        return self.aux_heads[task](features)

    def _class_task_loss(self, task, logits, labels):
        """An auxiliary class task's loss: CE; reweighted: effective-number class weights; random_adjusted:
        logit-adjusted CE (the head's own logits come out prior-free)."""
        if task == "reweighted":
            return self._ce(labels, logits, sample_weight=tf.gather(self._class_weights, labels))
        if task == "random_adjusted":
            return self._ce(labels, tf.cast(logits, keras.config.floatx()) + self._log_prior)
        return self._ce(labels, logits)

    def _features_keeping_moving_statistics(self, images, training):
        """Backbone features of `images` (normalised with their own batch moments in training) that
        leave the backbone's moving statistics as they were: the random stream's pass under
        `stream_batch_norm="separate"`. The statistics are read before the pass and written back
        after it; TensorFlow orders the reads and writes of one variable as written."""
        saved = [tf.identity(v.value) for v in self.backbone.non_trainable_variables]
        features = self.features(images, training=training)
        for variable, value in zip(self.backbone.non_trainable_variables, saved):
            variable.assign(value)
        return features

    def primary_task_loss(self, labels, logits):
        """The primary head's training loss at the current step (`primary_loss.PrimaryLoss`)."""
        return self._primary_loss(labels, logits, self._step())

    def _step(self):
        """The optimizer's step counter as an int64 tensor (0 before the first update)."""
        return tf.cast(tf.convert_to_tensor(self.optimizer.iterations.value), tf.int64)

    def l2_loss(self):
        """0.5 * wd * sum ||w||^2 over all trainable weights: PyTorch-style L2 (gradient wd * w),
        divided by the replica count so the all-reduced gradient is wd * w on any strategy."""
        if not self.weight_decay:
            return tf.constant(0.0, keras.config.floatx())
        l2 = 0.5 * self.weight_decay * tf.add_n([tf.reduce_sum(tf.square(v)) for v in self.trainable_variables])
        return l2 / tf.distribute.get_strategy().num_replicas_in_sync

    def total_loss(self, losses):
        lam = tasks.lambda_weight(self.lambda_schedule, self._step(), self.total_steps)
        total = losses["primary"]
        for task, weight in zip(self.aux_tasks, self.aux_weights):
            if task in losses:
                total += lam * weight * losses[task]
        return total

    def train_step(self, data):
        with tf.GradientTape() as tape:
            losses, outputs = self.compute_task_losses(data, training=True)
            l2 = self.l2_loss()
            loss = self.total_loss(losses) + l2
            scaled = self.optimizer.scale_loss(loss)
        gradients = self._with_classifier_lr_factor(tape.gradient(scaled, self.trainable_variables))
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        self._update_trackers(loss, l2, losses, outputs)
        return _step_logs({name: tracker.result() for name, tracker in self._trackers.items()})

    def _with_classifier_lr_factor(self, gradients):
        """The gradients with those of the primary head's kernel and bias times `classifier_lr_factor`: with SGD
        (momentum included; weight decay is in the loss) that is their learning rate times the factor, as a
        PyTorch parameter group's lr would be (MiSLAS's stage 2 fine-tunes its classifier at half the rate)."""
        if self.classifier_lr_factor == 1.0:
            return gradients
        scaled = {id(self.primary_head.kernel), id(self.primary_head.bias)}
        return [g * self.classifier_lr_factor if id(v) in scaled and g is not None else g
                for g, v in zip(gradients, self.trainable_variables)]

    def test_step(self, data):
        x, y = data[:2]
        logits = self(x, training=False)
        self._trackers["loss"].update_state(unscale_loss_for_distribution(self._ce(y, logits)))
        self._trackers["primary_acc"].update_state(y, logits)
        return _step_logs({"loss": self._trackers["loss"].result(),
                           "primary_acc": self._trackers["primary_acc"].result()})

    def _update_trackers(self, loss, l2, losses, outputs):
        self._trackers["loss"].update_state(unscale_loss_for_distribution(loss))
        if "l2_loss" in self._trackers:
            self._trackers["l2_loss"].update_state(unscale_loss_for_distribution(l2))
        for task, value in losses.items():
            self._trackers[f"{task}_loss"].update_state(unscale_loss_for_distribution(value))
            if f"{task}_acc" in self._trackers:
                self._trackers[f"{task}_acc"].update_state(*outputs[task])

    @property
    def metrics(self):
        return list(self._trackers.values())

    # ------------------------------------------------------------------------ serialization

    def get_config(self):
        return {
            **super().get_config(),
            "backbone": self.backbone_name, "num_classes": self.num_classes, "image_size": self.image_size,
            "aux_tasks": list(self.aux_tasks), "aux_weights": list(self.aux_weights),
            "lambda_schedule": self.lambda_schedule, "total_steps": self.total_steps,
            "aux_detach_features": self.aux_detach_features, "class_counts": self.class_counts,
            "weight_decay": self.weight_decay, "mean": list(self.mean), "std": list(self.std), "seed": self.seed,
            "sync_batch_norm": self.sync_batch_norm, "primary_loss": self.primary_loss,
            "drw_start_step": self.drw_start_step, "logit_adjust_tau": self.logit_adjust_tau,
            "freeze_backbone": self.freeze_backbone, "stream_batch_norm": self.stream_batch_norm,
            "mixup_alpha": self.mixup_alpha, "mixup_streams": list(self.mixup_streams),
            "strided_padding": self.strided_padding, "classifier": self.classifier,
            "label_smoothing": list(self.label_smoothing), "single_stream": self.single_stream,
            "drw_normalisation": self.drw_normalisation, "classifier_lr_factor": self.classifier_lr_factor,
        }

    @classmethod
    def from_config(cls, config):
        # A model saved before strided_padding was recorded was built, and trained, with the legacy padding.
        # Likewise drw's normalisation, recorded since 2026-12-06.
        config = {"strided_padding": LEGACY_STRIDED_PADDING, "drw_normalisation": LEGACY_DRW_NORMALISATION, **config}
        # One saved before the streams had their names: a single-stream model drew the random stream, but for
        # crt's (a frozen backbone), and mixup_streams named the heads' batches (keras_auxlt.renamed).
        if "single_stream" not in config:
            config["single_stream"] = "balanced" if config.get("freeze_backbone") else "random"
        streams = STREAMS if config.get("aux_tasks") else (config["single_stream"],)
        config["mixup_streams"] = renamed.mixup_streams(config.get("mixup_streams", MIXUP_STREAMS), streams, warn=False)
        return super().from_config(config)


def _step_logs(logs):
    """Step logs as `fit` can reduce them. Under a multi-worker MultiWorkerMirroredStrategy, Keras 3
    reduces each log with strategy.reduce(MEAN, value, axis=0), which fails on scalars
    (tensorflow/tensorflow#72388); one-element vectors reduce to the same scalar."""
    if in_multi_worker_mode(tf.distribute.get_strategy()):
        return {name: tf.reshape(value, [1]) for name, value in logs.items()}
    return logs


def _is_dual_stream(data):
    return isinstance(data, (tuple, list)) and len(data) == 2 and isinstance(data[0], (tuple, list))


def _check_arguments(num_classes, aux_tasks, aux_weights, lambda_schedule, total_steps, class_counts, weight_decay,
                     primary_loss, stream_batch_norm, mixup_alpha, mixup_streams, classifier, label_smoothing,
                     single_stream, drw_normalisation, classifier_lr_factor):
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2. Received: num_classes={num_classes!r}")
    unknown = [t for t in aux_tasks if t not in AUX_TASKS]
    if unknown or len(set(aux_tasks)) != len(aux_tasks):
        raise ValueError(f"Unknown or repeated auxiliary task. Accepted: {', '.join(AUX_TASKS)}. "
                         f"Received: aux_tasks={list(aux_tasks)!r}")
    if len(aux_weights) != len(aux_tasks):
        raise ValueError(f"Give one weight per auxiliary task. Received: aux_tasks={list(aux_tasks)!r}, "
                         f"aux_weights={list(aux_weights)!r}")
    if any(w < 0 or not np.isfinite(w) for w in aux_weights):
        raise ValueError(f"Auxiliary weights must be finite and >= 0. Received: aux_weights={list(aux_weights)!r}")
    if lambda_schedule not in LAMBDA_SCHEDULES:
        raise ValueError(f"Unknown lambda schedule. Accepted: {', '.join(LAMBDA_SCHEDULES)}. "
                         f"Received: lambda_schedule={lambda_schedule!r}")
    if lambda_schedule == "cumulative" and total_steps <= 0:
        raise ValueError(f"The cumulative lambda schedule needs total_steps > 0. Received: total_steps={total_steps!r}")
    if primary_loss not in PRIMARY_LOSSES:
        raise ValueError(f"Unknown primary loss. Accepted: {', '.join(PRIMARY_LOSSES)}. "
                         f"Received: primary_loss={primary_loss!r}")
    if (any(task in CLASS_COUNT_TASKS for task in aux_tasks) or primary_loss != "ce") and (
            class_counts is None or len(class_counts) != num_classes or min(class_counts) < 1):
        raise ValueError(f"The {' and '.join(CLASS_COUNT_TASKS)} tasks and the class-aware primary losses need "
                         f"class_counts with one "
                         f"positive count per class ({num_classes}). Received: class_counts={class_counts!r}")
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0. Received: weight_decay={weight_decay!r}")
    if stream_batch_norm not in STREAM_BATCH_NORMS:
        raise ValueError(f"Unknown stream_batch_norm. Accepted: {', '.join(STREAM_BATCH_NORMS)}. "
                         f"Received: stream_batch_norm={stream_batch_norm!r}")
    if not mixup_alpha >= 0 or not np.isfinite(mixup_alpha):
        raise ValueError(f"mixup_alpha must be finite and >= 0 (0: no mixup). Received: mixup_alpha={mixup_alpha!r}")
    if classifier not in CLASSIFIERS:
        raise ValueError(f"Unknown classifier. Accepted: {', '.join(CLASSIFIERS)}. Received: classifier={classifier!r}")
    if not 0 < classifier_lr_factor <= 1:
        raise ValueError(f"classifier_lr_factor must be in (0, 1]. Received: classifier_lr_factor={classifier_lr_factor!r}")
    if classifier_lr_factor != 1.0 and classifier == "cosine":
        raise ValueError("classifier_lr_factor applies to a classifier with a kernel and a bias (linear, scaled). "
                         f"Received: classifier={classifier!r}, classifier_lr_factor={classifier_lr_factor!r}")
    if (primary_loss == "ldam_drw") != (classifier == "cosine"):
        raise ValueError(f"The ldam_drw loss goes with the cosine classifier, and only it. Received: "
                         f"primary_loss={primary_loss!r}, classifier={classifier!r}")
    if len(label_smoothing) != 2 or not all(0 <= e < 1 for e in label_smoothing):
        raise ValueError(f"label_smoothing is (head, tail), each in [0, 1). Received: "
                         f"label_smoothing={list(label_smoothing)!r}")
    if any(label_smoothing) and (primary_loss != "ce" or class_counts is None):
        raise ValueError(f"Label-aware smoothing applies to the ce primary loss and needs class_counts. Received: "
                         f"primary_loss={primary_loss!r}, class_counts={class_counts!r}")
    unknown = [s for s in mixup_streams if s not in MIXUP_STREAMS]
    if unknown or len(set(mixup_streams)) != len(mixup_streams):
        raise ValueError(f"Unknown or repeated mixup stream. Accepted: {', '.join(MIXUP_STREAMS)}. "
                         f"Received: mixup_streams={list(mixup_streams)!r}")
    if drw_normalisation not in DRW_NORMALISATIONS:
        raise ValueError(f"Unknown drw_normalisation. Accepted: {', '.join(DRW_NORMALISATIONS)}. "
                         f"Received: drw_normalisation={drw_normalisation!r}")
    if single_stream not in STREAMS:
        raise ValueError(f"Unknown single_stream. Accepted: {', '.join(STREAMS)}. Received: single_stream={single_stream!r}")
