"""Accuracy of a trained run with its BatchNorm moving statistics re-estimated on one training stream.

    ./run python -m benchmarks.batch_norm_statistics --model_dir RUN [--streams as_trained,joint,balanced,instance]
        [--steps 100] [--checkpoint last] [--split test|val]

A diagnostic for method.md's joint BatchNorm batch: an auxlt step normalises [x_b; x_r] together,
so the moving statistics that inference uses mix class-balanced and instance-sampled images,
where class-balanced training (`balanced`) normalises balanced batches only. Each row loads the
run's checkpoint afresh, re-estimates every BatchNorm moving mean and variance by `--steps`
training-mode forward passes (no gradient, no optimizer, all other weights unchanged) over
batches the named stream draws after the run's last training step, and scores the primary head
on the test split (or, `--split=val`, on the run's validation split):

    as_trained  the checkpoint's own statistics (nothing re-estimated)
    joint       [balanced; instance] batches, plus the rotated copies for a run with a rotation head,
                as an auxlt training step concatenates them (the control: it should match as_trained)
    balanced    the run's balanced sampler's batches alone
    instance    instance-sampled (random) batches alone

The re-estimate is the training-time exponential moving average (BatchNorm momentum 0.9), over
enough batches (default 100) that the checkpoint's values weigh nothing in it (0.9^100 < 1e-4).
Nothing is selected with the test split: the rows are printed side by side, not tuned on. A choice
of statistics source is made on `--split=val` of a run trained with a validation split.
"""

import json
import os

from absl import app, flags

from keras_auxlt.run_files import TRAINED_CHECKPOINT_CHOICES
from keras_auxlt.training.batch_norm_statistics import DEFAULT_STEPS
from keras_auxlt.training.batch_norm_statistics import STATISTICS_SOURCES as STREAMS

flags.DEFINE_string("model_dir", None, "Run directory written by train.py.", required=True)
flags.DEFINE_list("streams", list(STREAMS), f"Rows to score: {', '.join(STREAMS)}.")
flags.DEFINE_integer("steps", DEFAULT_STEPS, "Batches per re-estimate.")
flags.DEFINE_enum("split", "test", ["test", "val"], "Split to score: val needs a run with a validation split "
                  "(its own, or --val_per_class), and is the one to choose statistics on.")
flags.DEFINE_enum("checkpoint", "last", list(TRAINED_CHECKPOINT_CHOICES), "auto: best.keras if there is one, else "
                  "last.keras (never inference.keras: its statistics are re-estimated already).")
flags.DEFINE_string("output", "", "Also write the rows as JSON here.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    from keras_auxlt.data.errors import DataError
    from keras_auxlt.data.loading import DataConfig, has_validation, load_split, make_source
    from keras_auxlt.data.pipeline import PipelineConfig
    from keras_auxlt.evaluation import TOP1_GROUPS, evaluate, top1_groups
    from keras_auxlt.run_files import RunDirError, checkpoint_path, read_run_config
    from keras_auxlt.saving import load_model
    from keras_auxlt.training.batch_norm_statistics import with_statistics_from

    unknown = [s for s in FLAGS.streams if s not in STREAMS]
    if unknown or not FLAGS.streams:
        raise app.UsageError(f"--streams: accepted {', '.join(STREAMS)}. Received: {','.join(FLAGS.streams)!r}")
    if FLAGS.steps < 1:
        raise app.UsageError(f"--steps must be >= 1. Received: {FLAGS.steps}")
    try:
        resolved = read_run_config(FLAGS.model_dir)
        name, checkpoint = checkpoint_path(FLAGS.model_dir, FLAGS.checkpoint, as_trained=True)
    except RunDirError as e:
        raise app.UsageError(f"--model_dir: {e}")
    data = DataConfig(**resolved["data"])
    pipeline = PipelineConfig(**resolved["pipeline"])
    try:
        source = make_source(data)
        if FLAGS.split == "val" and not has_validation(source, data):
            raise SystemExit(f"error: --split=val: {FLAGS.model_dir} was trained without a validation split "
                             "(train it with --val_per_class, or on data with a val split)")
        train = load_split(source, "train", data)
        scored = load_split(source, FLAGS.split, data)
    except DataError as e:
        raise SystemExit(f"error: {e}")
    counts = resolved["derived"]["class_counts"]
    start_step = int(resolved["derived"]["total_steps"])  # batches the run never trained on

    rows = {}
    for stream in FLAGS.streams:
        model = with_statistics_from(load_model(checkpoint), stream, train, pipeline, start_step, FLAGS.steps)
        metrics, _ = evaluate(model, scored, counts, pipeline, progress=False)
        rows[stream] = top1_groups(metrics)
        print(f"[bn-stats] {stream}: {FLAGS.split} top-1 {metrics['overall']:.4f}", flush=True)

    print(f"\n{FLAGS.model_dir} ({name}; method {resolved['method']}, aux tasks {resolved['derived']['aux_tasks']}), "
          f"BatchNorm statistics re-estimated over {FLAGS.steps} batches of {pipeline.batch_size} per stream, "
          f"scored on the {FLAGS.split} split")
    print(f"{'statistics from':<16} {'overall':>8} {'many':>8} {'medium':>8} {'few':>8}  {'vs as_trained':>13}")
    base = rows.get("as_trained", {}).get("overall")
    for stream, row in rows.items():
        cells = " ".join(f"{'–' if row[g] is None else f'{100 * row[g]:.1f}':>8}" for g in TOP1_GROUPS)
        delta = "" if base is None or stream == "as_trained" else f"{100 * (row['overall'] - base):+.1f}"
        print(f"{stream:<16} {cells}  {delta:>13}")
    if FLAGS.output:
        os.makedirs(os.path.dirname(FLAGS.output) or ".", exist_ok=True)
        with open(FLAGS.output, "w") as f:
            json.dump({"model_dir": FLAGS.model_dir, "checkpoint": name, "steps": FLAGS.steps, "split": FLAGS.split,
                       "rows": rows}, f, indent=2)


if __name__ == "__main__":
    app.run(main)
