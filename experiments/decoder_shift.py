"""How much a trained model's predictions move when its JPEG input is decoded the other way.

    ./run python -m experiments.decoder_shift --model_dir=runs/cifar10_lt [--split=val] [--checkpoint=auto]

Every run of before 2026-12-02 trained on JPEG decoded with TensorFlow's fast DCT; the code since, the
SavedModel's `serving_bytes` and a client decoding with PIL give the accurate DCT's pixels (docs/data.md,
"Decoding"). This decodes every image of a split both ways, predicts with the run's checkpoint (the
primary head, the evaluation transform) and prints the top-1 of each, their paired difference and how many
predictions change. The default split is the validation split, so that the diagnostic leaves the test set
alone (CIFAR-LT: pass the run's --val_per_class, which it reads from config.json). Accuracy only: no timing,
so it may run beside training.
"""

import dataclasses

import numpy as np
import tensorflow as tf
from absl import app, flags

from keras_auxlt.data.decoding import decode_rgb
from keras_auxlt.data.loading import DataConfig, load_split, make_source
from keras_auxlt.data.pipeline import PipelineConfig
from keras_auxlt.evaluation import predict_heads
from keras_auxlt.run_files import TRAINED_CHECKPOINT_CHOICES, checkpoint_path, read_run_config
from keras_auxlt.training.saving import load_model

flags.DEFINE_string("model_dir", None, "Run directory written by train.py.")
flags.DEFINE_string("split", "val", "Split to predict (val leaves the test set alone).")
flags.DEFINE_enum("checkpoint", "auto", list(TRAINED_CHECKPOINT_CHOICES), "Checkpoint with its statistics as "
                  "trained: auto is best.keras if there is one, else last.keras.")
flags.DEFINE_string("data_dir", "", "The data, if it has moved since training (default: the run's config.json).")
FLAGS = flags.FLAGS

DECODERS = {
    "fast DCT (tf.io.decode_image, runs of before 2026-12-02)":
        lambda data: tf.io.decode_image(data, channels=3, expand_animations=False),
    "accurate DCT (decode_rgb, PIL's pixels)": decode_rgb,
}

TRAINED_WITH = {None: "the fast DCT", "INTEGER_FAST": "the fast DCT", "INTEGER_ACCURATE": "the accurate DCT"}


def decoded(split, decode):
    """The split with its images decoded in memory by `decode` (same order, labels, names)."""
    images = np.stack([decode(tf.io.read_file(path)).numpy() for path in split.paths])
    return dataclasses.replace(split, paths=None, images=images)


def shift(labels, predictions):
    """{decoder: top-1}, the paired difference (second minus first) and the count of changed predictions."""
    (first, a), (second, b) = predictions.items()
    return {"top1": {name: float(np.mean(p == labels)) for name, p in predictions.items()},
            "difference": float(np.mean(b == labels) - np.mean(a == labels)),
            "changed": int(np.sum(a != b)), "images": int(len(labels)),
            "gained": int(np.sum((b == labels) & (a != labels))), "lost": int(np.sum((a == labels) & (b != labels)))}


def main(argv):
    del argv
    config = read_run_config(FLAGS.model_dir)
    fields = {name: config["data"][name] for name in DataConfig.__dataclass_fields__ if name in config["data"]}
    data = DataConfig(**{**fields, **({"data_dir": FLAGS.data_dir} if FLAGS.data_dir else {}), "validate_images": False})
    split = load_split(make_source(data), FLAGS.split, data)
    if split.paths is None:
        raise SystemExit(f"[decoder_shift] {split.where} is held in memory already decoded: nothing to compare")
    name, path = checkpoint_path(FLAGS.model_dir, FLAGS.checkpoint, as_trained=True)
    model = load_model(path)
    pipeline = PipelineConfig(**config["pipeline"])
    predictions, labels = {}, None
    for decoder, decode in DECODERS.items():
        labels, heads = predict_heads(model, decoded(split, decode), pipeline, progress=False)
        predictions[decoder] = heads["primary"]
    result = shift(labels, predictions)
    print(f"[decoder_shift] {FLAGS.model_dir} ({name}), {split.name} split, {result['images']:,} images "
          f"(trained on JPEG decoded with {TRAINED_WITH.get(config.get('derived', {}).get('jpeg_dct'), 'an unknown DCT')})")
    for decoder, top1 in result["top1"].items():
        print(f"  {decoder}: top-1 {100 * top1:.2f}")
    print(f"  accurate − fast: {100 * result['difference']:+.2f} points; {result['changed']} predictions change "
          f"({result['gained']} become right, {result['lost']} become wrong)")


if __name__ == "__main__":
    flags.mark_flag_as_required("model_dir")
    app.run(main)
