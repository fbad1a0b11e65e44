"""Typed configuration of a training run, and the values derived from it.

`RunConfig` gathers the data, pipeline, model and optimiser sections. Derived values
(steps per epoch, total steps, learning-rate boundaries in steps, scaled learning rate) are
computed here from the data and the recipe, never typed by hand. `check()` rejects bad
values before any work, naming the flag and the accepted values.
"""

import dataclasses
import math

from keras_auxlt.choices import (
    AUX_TASKS,
    BACKBONES,
    CIFAR_BACKBONES,
    CRT_CLASSIFIERS,
    FUSABLE_HEADS,
    INFERENCE_HEADS,
    INFERENCE_STATISTICS,
    LAMBDA_SCHEDULES,
    LWS_CLASSIFIER_LR_FACTOR,
    METHODS,
    MIXUP_STREAMS,
    PRECISIONS,
    SCHEDULES,
    STRATEGIES,
    STREAM_BATCH_NORMS,
)
from keras_auxlt.data.config import DataConfig, PipelineConfig, steps_per_epoch

DEFAULT_STATISTICS_STEPS = 100  # --inference_statistics_steps: batches the BatchNorm statistics are re-estimated over


class ConfigError(ValueError):
    """A bad flag or run setting, found before training starts; the message names the flag."""


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    backbone: str = "resnet32"
    aux_tasks: tuple = ("random",)
    aux_weights: tuple = ()  # empty: 1.0 for every task
    lambda_schedule: str = "constant"
    aux_detach_features: bool = False
    sync_batch_norm: bool = False
    stream_batch_norm: str = "joint"  # two-stream step: one BatchNorm batch [x_b; x_r], or "separate" per stream
    mixup_alpha: float = 0.0  # > 0: input mixup with lam ~ Beta(alpha, alpha) on the streams below
    mixup_streams: tuple = MIXUP_STREAMS  # those of the method's streams that are mixed
    # (head, tail) > 0: MiSLAS's label-aware smoothing of the ce primary loss (e.g. in crt's stage)
    label_aware_smoothing: tuple = (0.0, 0.0)
    # crt: a fresh classifier, or "lws": the first stage's, with learnable weight scaling (MiSLAS's stage 2)
    crt_classifier: str = "fresh"


@dataclasses.dataclass(frozen=True)
class OptimConfig:
    learning_rate: float = 0.1
    lr_reference_batch: int = 0  # > 0: lr scaled linearly by batch_size / lr_reference_batch
    momentum: float = 0.9
    weight_decay: float = 2e-4  # L2 added to the gradient (PyTorch semantics), all weights
    warmup_epochs: float = 5.0
    schedule: str = "multistep"
    lr_milestones: tuple = (160, 180)  # epochs
    lr_factors: tuple = (0.01, 0.0001)  # relative to the base learning rate

    def scaled_learning_rate(self, batch_size):
        if self.lr_reference_batch > 0:
            return self.learning_rate * batch_size / self.lr_reference_batch
        return self.learning_rate


@dataclasses.dataclass(frozen=True)
class RunConfig:
    data: DataConfig = DataConfig()
    pipeline: PipelineConfig = PipelineConfig()
    model: ModelConfig = ModelConfig()
    optim: OptimConfig = OptimConfig()
    method: str = "auxlt"
    epochs: int = 200
    model_dir: str = "runs/default"
    strategy: str = "auto"
    deterministic: bool = False
    mixed_precision: str = "off"  # "off", "float16" (GPUs) or "bfloat16" (TPUs, AVX512-BF16 CPUs)
    seed: int = 0
    verbose: int = 2
    drw_start_epoch: int = 160  # drw: effective-number re-weighting from this epoch on
    init_from: str = ""  # crt: run directory whose backbone is frozen and reused
    stage_one_flagfile: str = ""  # crt: the recipe of the init_from run, trained first if it has not finished
    checkpoint_every_steps: int = 0  # also checkpoint every N steps (0: at epoch ends only)
    # After training: BatchNorm statistics of the selected model as trained, or re-estimated over
    # `inference_statistics_steps` batches of a stream (checkpoints/inference.keras).
    inference_statistics: str = "as_trained"
    inference_statistics_steps: int = DEFAULT_STATISTICS_STEPS
    inference_head: str = "primary"  # or "fused": both heads folded into one, chosen on validation

    def check(self, num_replicas=1):
        """Raise ConfigError naming the flag for any bad value."""
        def bad(flag, value, accepted):
            raise ConfigError(f"--{flag}: {accepted}. Received: --{flag}={value!r}")

        if self.method not in METHODS:
            bad("method", self.method, f"accepted values: {', '.join(METHODS)}")
        if self.model.backbone not in BACKBONES:
            bad("backbone", self.model.backbone, f"accepted values: {', '.join(BACKBONES)}")
        for task in self.model.aux_tasks:
            if task not in AUX_TASKS:
                bad("aux_tasks", ",".join(self.model.aux_tasks), f"accepted values: {', '.join(AUX_TASKS)}")
        if len(set(self.model.aux_tasks)) != len(self.model.aux_tasks):
            bad("aux_tasks", ",".join(self.model.aux_tasks), "each task at most once")
        if self.method == "auxlt" and not self.model.aux_tasks:
            bad("aux_tasks", "", "method auxlt needs at least one auxiliary task")
        if self.model.aux_weights and len(self.model.aux_weights) != len(self.model.aux_tasks):
            bad("aux_weights", list(self.model.aux_weights), f"one weight per task in --aux_tasks "
                f"({len(self.model.aux_tasks)})")
        if any(not math.isfinite(w) or w < 0 for w in self.model.aux_weights):
            bad("aux_weights", list(self.model.aux_weights), "weights must be finite and >= 0")
        if self.model.lambda_schedule not in LAMBDA_SCHEDULES:
            bad("lambda_schedule", self.model.lambda_schedule, f"accepted values: {', '.join(LAMBDA_SCHEDULES)}")
        if self.model.stream_batch_norm not in STREAM_BATCH_NORMS:
            bad("stream_batch_norm", self.model.stream_batch_norm, f"accepted values: {', '.join(STREAM_BATCH_NORMS)}")
        if not math.isfinite(self.model.mixup_alpha) or self.model.mixup_alpha < 0:
            bad("mixup_alpha", self.model.mixup_alpha, "must be finite and >= 0 (0: no mixup)")
        if any(s not in MIXUP_STREAMS for s in self.model.mixup_streams) or not self.model.mixup_streams or len(
                set(self.model.mixup_streams)) != len(self.model.mixup_streams):
            bad("mixup_streams", ",".join(self.model.mixup_streams), f"one or both of {', '.join(MIXUP_STREAMS)}")
        if self.strategy not in STRATEGIES:
            bad("strategy", self.strategy, f"accepted values: {', '.join(STRATEGIES)}")
        if self.optim.schedule not in SCHEDULES:
            bad("lr_schedule", self.optim.schedule, f"accepted values: {', '.join(SCHEDULES)}")
        if self.mixed_precision not in PRECISIONS:
            bad("mixed_precision", self.mixed_precision, f"accepted values: {', '.join(PRECISIONS)}")
        if self.epochs < 1:
            bad("epochs", self.epochs, "must be >= 1")
        if self.pipeline.batch_size < 1 or self.pipeline.batch_size % num_replicas:
            bad("batch_size", self.pipeline.batch_size, f"must be a positive multiple of the replica count "
                f"({num_replicas})")
        if self.optim.learning_rate <= 0:
            bad("learning_rate", self.optim.learning_rate, "must be > 0")
        if self.optim.weight_decay < 0:
            bad("weight_decay", self.optim.weight_decay, "must be >= 0")
        if not 0 <= self.optim.momentum < 1:
            bad("momentum", self.optim.momentum, "must be in [0, 1)")
        if len(self.optim.lr_milestones) != len(self.optim.lr_factors):
            bad("lr_factors", list(self.optim.lr_factors), "one factor per --lr_milestones entry")
        if list(self.optim.lr_milestones) != sorted(self.optim.lr_milestones):
            bad("lr_milestones", list(self.optim.lr_milestones), "must be increasing")
        smoothing = self.model.label_aware_smoothing
        if len(smoothing) != 2 or not all(0 <= e < 1 for e in smoothing):
            bad("label_aware_smoothing", ",".join(map(str, smoothing)), "two values, head and tail, each in [0, 1)")
        if any(smoothing) and self.primary_loss != "ce":
            bad("label_aware_smoothing", ",".join(map(str, smoothing)), f"applies to methods with the ce loss, not "
                f"{self.method}")
        if self.model.crt_classifier not in CRT_CLASSIFIERS:
            bad("crt_classifier", self.model.crt_classifier, f"accepted values: {', '.join(CRT_CLASSIFIERS)}")
        if self.model.crt_classifier != "fresh" and self.method != "crt":
            bad("crt_classifier", self.model.crt_classifier, f"only method crt has a second-stage classifier, not "
                f"{self.method}")
        if self.model_kind == "bbn":
            if self.model.mixup_alpha:
                bad("mixup_alpha", self.model.mixup_alpha, "method bbn does not mix (0)")
            if self.model.backbone not in CIFAR_BACKBONES:
                bad("backbone", self.model.backbone, f"method bbn splits a CIFAR ResNet: {', '.join(CIFAR_BACKBONES)}")
        if self.method in ("drw", "ldam_drw") and not 0 <= self.drw_start_epoch < self.epochs:
            bad("drw_start_epoch", self.drw_start_epoch, f"must be in [0, --epochs={self.epochs})")
        if METHODS[self.method].get("init_from") and not self.init_from:
            bad("init_from", self.init_from, f"method {self.method} needs the run directory of a trained model")
        if self.init_from and not METHODS[self.method].get("init_from"):
            bad("init_from", self.init_from, "only method crt starts from another run")
        if self.stage_one_flagfile and not self.init_from:
            bad("stage_one_flagfile", self.stage_one_flagfile, "the recipe of the --init_from run: give --init_from too")
        if self.checkpoint_every_steps < 0:
            bad("checkpoint_every_steps", self.checkpoint_every_steps, "must be >= 0 (0: at epoch ends only)")
        if self.inference_statistics not in INFERENCE_STATISTICS:
            bad("inference_statistics", self.inference_statistics, f"accepted values: {', '.join(INFERENCE_STATISTICS)}")
        if self.inference_head not in INFERENCE_HEADS:
            bad("inference_head", self.inference_head, f"accepted values: {', '.join(INFERENCE_HEADS)}")
        if self.inference_head == "fused" and not set(FUSABLE_HEADS) & set(self.aux_tasks):
            bad("inference_head", self.inference_head, "fused needs method auxlt with the random (or random_adjusted) "
                "auxiliary task")
        if self.inference_statistics_steps < 1:
            bad("inference_statistics_steps", self.inference_statistics_steps, "must be >= 1")
        if self.data.val_per_class < 0:
            bad("val_per_class", self.data.val_per_class, "must be >= 0 (0: no validation split made)")
        if self.data.imbalance_ratio < 1:
            bad("imbalance_ratio", self.data.imbalance_ratio, "must be >= 1")
        return self

    @property
    def streams(self):
        return METHODS[self.method]["streams"]

    @property
    def primary_loss(self):
        return METHODS[self.method]["primary_loss"]

    @property
    def classifier(self):
        if self.model.crt_classifier == "lws":
            return "scaled"
        return METHODS[self.method].get("classifier", "linear")

    @property
    def classifier_lr_factor(self):
        """The primary head's kernel and bias learn at this factor of the learning rate (MiSLAS's LWS stage)."""
        return LWS_CLASSIFIER_LR_FACTOR if self.model.crt_classifier == "lws" else 1.0

    @property
    def model_kind(self):
        """"auxlt" (AuxLTModel, every method but bbn) or "bbn" (BBNModel)."""
        return METHODS[self.method].get("model", "auxlt")

    @property
    def mixed_streams(self):
        """The streams this run mixes: of --mixup_streams, those its method draws."""
        if not self.model.mixup_alpha:
            return ()
        return tuple(s for s in self.model.mixup_streams if s in self.streams)

    @property
    def aux_tasks(self):
        return tuple(self.model.aux_tasks) if METHODS[self.method]["aux"] else ()

    def steps_per_epoch(self, num_train):
        return steps_per_epoch(num_train, self.pipeline.batch_size)

    def to_dict(self):
        return dataclasses.asdict(self)
