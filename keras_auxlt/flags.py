"""Every command-line flag of keras-auxlt, declared in this one module.

`train.py`, `evaluate.py` and `python -m keras_auxlt.commands.stats` define the groups they need
and turn parsed flags into the typed configs with the `*_config_from_flags` helpers.
"""

from absl import flags

from keras_auxlt import renamed
from keras_auxlt.choices import (
    AUTO_AUGMENT_POLICIES,
    AUX_TASKS,
    BACKBONES,
    BALANCED_SAMPLERS,
    CRT_CLASSIFIERS,
    EVAL_STYLES,
    INFERENCE_HEADS,
    INFERENCE_STATISTICS,
    LAMBDA_SCHEDULES,
    LT_PROFILES,
    METHODS,
    MIXUP_STREAMS,
    PRECISIONS,
    SCHEDULES,
    STRATEGIES,
    STREAM_BATCH_NORMS,
    TRAIN_AUGMENTATIONS,
)
from keras_auxlt.data.config import DataConfig, PipelineConfig

FLAGS = flags.FLAGS

# The groups --help shows the flags in (keras_auxlt.commands.launch); a test checks that every flag of
# train.py is in exactly one.
DATA_FLAGS = ("dataset", "data_dir", "tfds_download", "train_list", "val_list", "test_list", "class_names_file",
              "imbalance_ratio", "lt_profile", "lt_step_fraction", "lt_seed", "val_per_class", "validate_images",
              "skip_bad_images")
TRAIN_FLAG_GROUPS = {
    "recipe": ("recipe", "list_recipes", "method"),
    "data": DATA_FLAGS + ("image_size", "augment", "auto_augment", "balanced_sampler"),
    "model": ("backbone", "aux_tasks", "aux_weights", "lambda_schedule", "aux_detach_features", "sync_batch_norm",
              "stream_batch_norm", "mixup_alpha", "mixup_streams", "label_aware_smoothing",
              "crt_classifier"),
    "training": ("epochs", "batch_size", "learning_rate", "lr_reference_batch", "momentum", "weight_decay",
                 "warmup_epochs", "lr_schedule", "lr_milestones", "lr_factors", "drw_start_epoch", "init_from",
                 "stage_one_flagfile", "seed", "strategy", "mixed_precision", "deterministic", "checkpoint_every_steps"),
    "evaluation": ("eval_style", "inference_statistics", "inference_statistics_steps", "inference_head"),
    "output": ("model_dir", "verbose"),
}


def define_data_flags():
    d = DataConfig()  # the defaults: one place, the config dataclass
    flags.DEFINE_string("dataset", d.dataset, "Data set name: a TFDS builder (cifar10, cifar100, ...) or a label "
                        "for list-file / image-folder data (imagenet_lt, places_lt, inat2018).")
    flags.DEFINE_string("data_dir", d.data_dir, "Image folder (<dir>/<split>/<class>/<file>) or its .tar/.tar.gz "
                        "archive; the root that list-file paths are relative to; or a TFDS data dir.")
    flags.DEFINE_bool("tfds_download", d.tfds_download, "Let TFDS download and prepare a data set that is not "
                      "prepared yet.")
    flags.DEFINE_string("train_list", d.train_list, "List file of the training split: lines 'relative/path.jpg label'.")
    flags.DEFINE_alias("list_file", "train_list")
    flags.DEFINE_string("val_list", d.val_list, "List file of the validation split.")
    flags.DEFINE_string("test_list", d.test_list, "List file of the test split.")
    flags.DEFINE_string("class_names_file", d.class_names_file, "Optional file with one class name per line "
                        "(line i = class i).")
    flags.DEFINE_float("imbalance_ratio", d.imbalance_ratio, "Long-tailed subset of the training split with "
                       "n_max / n_min = this ratio; 1 keeps the split as it is.")
    flags.DEFINE_enum("lt_profile", d.lt_profile, LT_PROFILES, "Long-tail profile: exponential or step.")
    flags.DEFINE_float("lt_step_fraction", d.lt_step_fraction, "Step profile: fraction of classes cut to n_max / ratio.")
    flags.DEFINE_integer("lt_seed", d.lt_seed, "Seed of the long-tail selection (0 = the reference subsets).")
    flags.DEFINE_integer("val_per_class", d.val_per_class, "If > 0, a validation split for data without one "
                         "(CIFAR-LT): this many images per class from the training images outside the long-tailed "
                         "subset (a class with too few there, like the head class, gives the rest from its training "
                         "images). The run then keeps the checkpoint best on it and reports its validation accuracy.")
    flags.DEFINE_bool("validate_images", d.validate_images, "Decode every image once before training and report all "
                      "bad files.")
    flags.DEFINE_bool("skip_bad_images", d.skip_bad_images, "Drop unreadable or corrupt images (count reported) "
                      "instead of stopping.")


def data_config_from_flags():
    return DataConfig(
        dataset=FLAGS.dataset, data_dir=FLAGS.data_dir, tfds_download=FLAGS.tfds_download,
        train_list=FLAGS.train_list, val_list=FLAGS.val_list, test_list=FLAGS.test_list,
        class_names_file=FLAGS.class_names_file, imbalance_ratio=FLAGS.imbalance_ratio,
        lt_profile=FLAGS.lt_profile, lt_step_fraction=FLAGS.lt_step_fraction, lt_seed=FLAGS.lt_seed,
        val_per_class=FLAGS.val_per_class, validate_images=FLAGS.validate_images, skip_bad_images=FLAGS.skip_bad_images)


def define_train_flags():
    """Flags of train.py: data, pipeline, model, optimiser and run. Defaults are RunConfig's, choices
    keras_auxlt.choices'."""
    from keras_auxlt.training.config import RunConfig

    define_data_flags()
    d = RunConfig()
    pipeline, model, optim = d.pipeline, d.model, d.optim
    # Pipeline.
    flags.DEFINE_integer("batch_size", pipeline.batch_size, "Global batch size per stream (AuxLT draws this many "
                         "balanced and this many random images per step).")
    flags.DEFINE_integer("image_size", pipeline.image_size, "Square training/evaluation image size.")
    flags.DEFINE_enum("augment", pipeline.augment, TRAIN_AUGMENTATIONS, "Training augmentation.")
    flags.DEFINE_enum("auto_augment", pipeline.auto_augment, AUTO_AUGMENT_POLICIES,
                      "RandAugment / AutoAugment (imagenet augment).")
    flags.DEFINE_enum("eval_style", pipeline.eval_style, EVAL_STYLES, "Evaluation transform: as is (cifar) or "
                      "resize + centre crop (imagenet).")
    flags.DEFINE_enum("balanced_sampler", pipeline.balanced_sampler, BALANCED_SAMPLERS,
                      "Sampler of the balanced stream.")
    # Model.
    flags.DEFINE_enum("backbone", model.backbone, BACKBONES, "Backbone.")
    flags.DEFINE_list("aux_tasks", list(model.aux_tasks), f"Auxiliary tasks, any of {', '.join(AUX_TASKS)}.")
    flags.DEFINE_list("aux_weights", list(model.aux_weights), "One weight per auxiliary task (default 1.0 each).")
    flags.DEFINE_enum("lambda_schedule", model.lambda_schedule, LAMBDA_SCHEDULES, "Auxiliary weight schedule.")
    flags.DEFINE_bool("aux_detach_features", model.aux_detach_features, "Ablation: auxiliary heads read "
                      "stop_gradient(features).")
    flags.DEFINE_bool("sync_batch_norm", model.sync_batch_norm, "BatchNorm statistics pooled across replicas.")
    flags.DEFINE_enum("stream_batch_norm", model.stream_batch_norm, STREAM_BATCH_NORMS, "Two-stream step: joint = "
                      "one BatchNorm batch [x_b; x_r] (method.md); separate = each stream normalised with its own "
                      "moments, moving statistics from the balanced stream.")
    flags.DEFINE_float("mixup_alpha", model.mixup_alpha, "If > 0, input mixup in the training step with one "
                       "lam ~ Beta(alpha, alpha) per batch (0: off).")
    flags.DEFINE_list("mixup_streams", list(model.mixup_streams), f"Streams mixed when --mixup_alpha > 0, any of "
                      f"{', '.join(MIXUP_STREAMS)}. A stream the method does not draw is not mixed.")
    flags.DEFINE_list("label_aware_smoothing", [str(e) for e in model.label_aware_smoothing], "head,tail: MiSLAS's "
                      "label-aware smoothing of the ce loss, eps from `head` for the most frequent class to `tail` for "
                      "the rarest (0,0: off).")
    flags.DEFINE_enum("crt_classifier", model.crt_classifier, CRT_CLASSIFIERS, "Method crt: the classifier trained on "
                      "the frozen backbone: fresh (cRT), or lws (MiSLAS's stage 2: the --init_from run's classifier "
                      "fine-tuned at half the learning rate, with a learnable scale per class).")
    # Optimiser.
    flags.DEFINE_float("learning_rate", optim.learning_rate, "Base learning rate.")
    flags.DEFINE_integer("lr_reference_batch", optim.lr_reference_batch, "If > 0, scale the learning rate by "
                         "batch_size / this.")
    flags.DEFINE_float("momentum", optim.momentum, "SGD momentum.")
    flags.DEFINE_float("weight_decay", optim.weight_decay, "L2 weight decay added to the gradient (PyTorch SGD "
                       "semantics).")
    flags.DEFINE_float("warmup_epochs", optim.warmup_epochs, "Linear warm-up length in epochs (per step).")
    flags.DEFINE_enum("lr_schedule", optim.schedule, SCHEDULES, "Learning-rate schedule after warm-up.")
    flags.DEFINE_list("lr_milestones", [str(m) for m in optim.lr_milestones], "Multistep: epochs at which the "
                      "factors apply.")
    flags.DEFINE_list("lr_factors", [str(f) for f in optim.lr_factors], "Multistep: lr factors relative to the "
                      "base lr.")
    # Run.
    flags.DEFINE_enum("method", d.method, list(METHODS), "Training method.")
    flags.DEFINE_integer("drw_start_epoch", d.drw_start_epoch, "Methods drw and ldam_drw: epoch from which effective-number "
                         "weights apply.")
    flags.DEFINE_string("init_from", d.init_from, "Method crt: run directory of the trained (e.g. ce) model whose "
                        "backbone is frozen and reused.")
    flags.DEFINE_string("stage_one_flagfile", d.stage_one_flagfile, "Method crt: the recipe (flagfile) of the "
                        "--init_from run. If that run has not finished, train.py first trains or resumes it with this "
                        "flagfile and this command's data, seed and device flags, then this stage.")
    flags.DEFINE_integer("epochs", d.epochs, "Training epochs (one epoch = ceil(N / batch_size) steps).")
    flags.DEFINE_string("model_dir", d.model_dir, "Run directory: config, checkpoints, logs, metrics.")
    flags.DEFINE_enum("strategy", d.strategy, STRATEGIES, "tf.distribute strategy.")
    flags.DEFINE_integer("checkpoint_every_steps", d.checkpoint_every_steps, "Also checkpoint every N steps, so "
                         "that a killed run loses at most N steps (0: at epoch ends only).")
    flags.DEFINE_string("inference_statistics", d.inference_statistics, f"One of {', '.join(INFERENCE_STATISTICS)}: "
                        "BatchNorm statistics of the model evaluated and exported: as_trained; joint, balanced or random "
                        "= re-estimated after training over the joint batches or that stream's training batches "
                        "(written to checkpoints/inference.keras); auto = whichever of these four scores highest on "
                        "the validation split.")
    flags.DEFINE_enum("inference_head", d.inference_head, INFERENCE_HEADS, "Head of the model evaluated and "
                      "exported: primary; fused = the primary and the random auxiliary head (prior-corrected) folded "
                      "into one linear head, their weights chosen on the validation split.")
    flags.DEFINE_integer("inference_statistics_steps", d.inference_statistics_steps, "Batches a re-estimate runs "
                         "over.")
    flags.DEFINE_bool("deterministic", d.deterministic, "Deterministic ops: a resumed run ends with the same weights.")
    flags.DEFINE_enum("mixed_precision", d.mixed_precision, PRECISIONS, "Mixed precision: float16 for GPUs (with "
                      "loss scaling), bfloat16 for TPUs and CPUs with AVX512-BF16.")
    flags.DEFINE_integer("seed", d.seed, "Seed of samplers, augmentation and initialisation.")
    flags.DEFINE_integer("verbose", d.verbose, "Keras fit verbosity: 1 = progress bar per step, 2 = one line per "
                         "epoch.")


def _numbers(flag, values, kind):
    try:
        return tuple(kind(v) for v in values)
    except ValueError:
        from keras_auxlt.training.config import ConfigError

        raise ConfigError(f"--{flag}: expected a comma-separated list of {kind.__name__}s. "
                         f"Received: --{flag}={','.join(values)}") from None


def run_config_from_flags():
    from keras_auxlt.training.config import ModelConfig, OptimConfig, RunConfig

    return RunConfig(
        data=data_config_from_flags(),
        pipeline=PipelineConfig(batch_size=FLAGS.batch_size, image_size=FLAGS.image_size, augment=FLAGS.augment,
                                auto_augment=FLAGS.auto_augment, eval_style=FLAGS.eval_style, seed=FLAGS.seed,
                                balanced_sampler=FLAGS.balanced_sampler),
        model=ModelConfig(backbone=FLAGS.backbone, aux_tasks=tuple(FLAGS.aux_tasks),
                          aux_weights=_numbers("aux_weights", FLAGS.aux_weights, float),
                          lambda_schedule=FLAGS.lambda_schedule, aux_detach_features=FLAGS.aux_detach_features,
                          sync_batch_norm=FLAGS.sync_batch_norm, stream_batch_norm=FLAGS.stream_batch_norm,
                          mixup_alpha=FLAGS.mixup_alpha,
                          mixup_streams=renamed.mixup_streams(FLAGS.mixup_streams, METHODS[FLAGS.method]["streams"]),
                          label_aware_smoothing=_numbers("label_aware_smoothing", FLAGS.label_aware_smoothing, float),
                          crt_classifier=FLAGS.crt_classifier),
        optim=OptimConfig(learning_rate=FLAGS.learning_rate, lr_reference_batch=FLAGS.lr_reference_batch,
                          momentum=FLAGS.momentum, weight_decay=FLAGS.weight_decay, warmup_epochs=FLAGS.warmup_epochs,
                          schedule=FLAGS.lr_schedule, lr_milestones=_numbers("lr_milestones", FLAGS.lr_milestones, int),
                          lr_factors=_numbers("lr_factors", FLAGS.lr_factors, float)),
        method=FLAGS.method, epochs=FLAGS.epochs, model_dir=FLAGS.model_dir, strategy=FLAGS.strategy,
        deterministic=FLAGS.deterministic, mixed_precision=FLAGS.mixed_precision, seed=FLAGS.seed,
        checkpoint_every_steps=FLAGS.checkpoint_every_steps, verbose=FLAGS.verbose, drw_start_epoch=FLAGS.drw_start_epoch,
        init_from=FLAGS.init_from, stage_one_flagfile=FLAGS.stage_one_flagfile,
        inference_statistics=renamed.statistics_source(FLAGS.inference_statistics),
        inference_statistics_steps=FLAGS.inference_statistics_steps, inference_head=FLAGS.inference_head)
