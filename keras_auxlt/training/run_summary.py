"""What a run is about to do, printed once before training: one block to check before hours of work."""

from keras_auxlt.data.loading import summary
from keras_auxlt.run_files import BEST_CHECKPOINT, LAST_CHECKPOINT


def summary_lines(config, train, val, test, model, steps_per_epoch, total_steps, strategy, done_steps=0):
    """The block's lines: method, data, model, batch and schedule, distribution, precision, output."""
    stats = summary(train)
    groups = stats["shot_groups"]
    weights = config.model.aux_weights or (1.0,) * len(config.aux_tasks)
    method = config.method
    if config.aux_tasks:
        method += " with auxiliary " + ", ".join(f"{task} (weight {w:g})" for task, w in zip(config.aux_tasks, weights))
        method += f", lambda {config.model.lambda_schedule}"
        if config.model.aux_detach_features:
            method += ", detached from the backbone (ablation)"
    if config.mixed_streams:
        method += f"; mixup (alpha {config.model.mixup_alpha:g}) on the {' and '.join(config.mixed_streams)} stream" + (
            "s" if len(config.mixed_streams) > 1 else "")
    if config.init_from:
        method += f", backbone frozen from {config.init_from}"
    exported = model.backbone.count_params() + model.primary_head.count_params()
    streams = " + ".join(config.streams)
    resume = f"; resuming at step {done_steps:,}" if done_steps else ""
    selected = BEST_CHECKPOINT + " (best on validation)" if val is not None else LAST_CHECKPOINT
    return [
        f"method     {method}",
        f"data       {config.data.dataset}: {stats['num_classes']} classes, {stats['num_images']:,} training images "
        f"({stats['max_count']:,} to {stats['min_count']:,} per class, imbalance {stats['imbalance_ratio']:.0f}; "
        f"many / medium / few classes {groups['many']} / {groups['medium']} / {groups['few']}); "
        f"validation {f'{len(val):,} images' if val is not None else 'none'}; test {len(test):,} images",
        f"model      {config.model.backbone}, {model.count_params():,} parameters ({exported:,} in the exported "
        "backbone + primary head)",
        f"batch      {config.pipeline.batch_size} per stream ({streams}): {config.pipeline.batch_size * len(config.streams)}"
        f" images per step, learning rate {config.optim.scaled_learning_rate(config.pipeline.batch_size):g}",
        f"schedule   {config.epochs} epoch{'s' if config.epochs > 1 else ''} of {steps_per_epoch:,} steps = "
        f"{total_steps:,} steps{resume}",
        f"devices    {type(strategy).__name__}, {strategy.num_replicas_in_sync} replica(s); precision "
        f"{'float32' if config.mixed_precision == 'off' else 'mixed ' + config.mixed_precision}",
        f"output     {config.model_dir}: evaluates {selected}, BatchNorm statistics {config.inference_statistics}",
    ]


def print_summary(lines):
    print("[train] " + "\n[train] ".join(lines), flush=True)
