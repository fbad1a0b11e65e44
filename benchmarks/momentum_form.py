"""What a learning-rate drop does under the two forms of SGD momentum, side by side.

    ./run python -m benchmarks.momentum_form [--data_dir ...] [--model_dir runs/benchmark_momentum]

Trains (once; reused afterwards) a short CE run at a constant learning rate, then continues it for
one epoch from its last checkpoint three ways, on exactly the same batches:
  - learning rate unchanged;
  - learning rate x`--factor` with PyTorch's momentum form (v <- mu v + g; w <- w - lr v), the
    reference code's and `TorchSGD`'s;
  - learning rate x`--factor` with Keras's form (m <- mu m - lr g; w <- w + m), whose velocity still
    holds steps taken at the old rate.
Prints the epoch's training loss and accuracy for each, the first steps' loss, how far the weights
moved, and the ratio of the two forms' losses after the drop.
"""

import os
import subprocess
import sys

import keras
import numpy as np
import tensorflow as tf
from absl import app, flags

from benchmarks.common import machine
from keras_auxlt.data.loading import DataConfig, load_split, make_source
from keras_auxlt.data.pipeline import PipelineConfig, single_stream
from keras_auxlt.run_files import CONFIG_FILE, RunDirError, read_run_config
from keras_auxlt.saving import load_model
from keras_auxlt.training.optimizers import TorchSGD

flags.DEFINE_string("data_dir", "../shared/data/cifar10/cifar10_jpg.tar.gz", "CIFAR-10 image folder or archive.")
flags.DEFINE_string("model_dir", "runs/benchmark_momentum", "The constant-lr run (trained here if missing).")
flags.DEFINE_string("backbone", "resnet20", "Backbone of that run.")
flags.DEFINE_integer("epochs", 6, "Epochs of that run at the constant learning rate.")
flags.DEFINE_float("factor", 0.01, "Learning-rate drop (the CIFAR recipe's first milestone: x0.01).")
flags.DEFINE_integer("first_steps", 30, "Report the mean loss over this many steps after the drop too.")
FLAGS = flags.FLAGS


def train_flags():
    return ["--flagfile=flags/cifar10_lt_short.cfg", f"--data_dir={FLAGS.data_dir}", "--method=ce",
            f"--backbone={FLAGS.backbone}", f"--epochs={FLAGS.epochs}", "--lr_factors=1,1",
            f"--model_dir={FLAGS.model_dir}", "--verbose=2"]


def ensure_run():
    """Train the constant-lr run unless it has finished (train.py resumes an interrupted one)."""
    if not os.path.isfile(os.path.join(FLAGS.model_dir, "metrics.json")):
        print(f"[momentum] training the constant-lr run: train.py {' '.join(train_flags())}", flush=True)
        subprocess.run([sys.executable, "train.py", *train_flags()], check=True)


def ce_run_config(model_dir):
    """The run's resolved config.json. Only a ce run can be continued here: the continuation feeds
    one instance-sampled stream, which would silently be the wrong data for any other method."""
    resolved = read_run_config(model_dir)
    method = resolved.get("method")
    if method != "ce":
        raise RunDirError(f"{os.path.join(model_dir, CONFIG_FILE)}: method {method!r}; this benchmark continues "
                          "a ce run only (one instance-sampled stream). Omit --model_dir to train its own.")
    return resolved


def velocities(optimizer):
    """The checkpoint's momentum state in PyTorch form (v), whichever form wrote it."""
    slots = [v.numpy() for v in optimizer.momentums]
    if isinstance(optimizer, TorchSGD):
        return slots
    lr = float(optimizer.learning_rate)  # Keras form: m = -lr * v at a constant rate
    return [-m / lr for m in slots]


def continue_one_epoch(pipeline, train, steps, form, factor):
    """Train one epoch from the checkpoint at lr x factor with the given momentum form."""
    model = load_model(os.path.join(FLAGS.model_dir, "checkpoints", "last.keras"))
    old = model.optimizer
    lr, step, v = float(old.learning_rate), int(old.iterations.numpy()), velocities(old)
    optimizer = (TorchSGD if form == "pytorch" else keras.optimizers.SGD)(learning_rate=lr * factor,
                                                                          momentum=old.momentum)
    model.compile(optimizer=optimizer, jit_compile=False)
    optimizer.build(model.trainable_variables)
    for slot, value in zip(optimizer.momentums, v):
        slot.assign(value if form == "pytorch" else -lr * value)
    optimizer.iterations.assign(step)
    before = [w.numpy().copy() for w in model.trainable_variables]
    means = []
    record = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: means.append(float(logs["primary_loss"])))
    history = model.fit(single_stream(train, pipeline, start_step=step), epochs=1, steps_per_epoch=steps,
                        verbose=0, shuffle=False, callbacks=[record])
    count = np.arange(1, len(means) + 1)
    per_step = count * np.array(means) - np.concatenate([[0.0], count[:-1] * np.array(means[:-1])])
    moved = np.sqrt(sum(np.sum((w.numpy() - b) ** 2) for w, b in zip(model.trainable_variables, before)))
    norm = np.sqrt(sum(np.sum(b ** 2) for b in before))
    return {"lr": lr * factor, "step": step, "loss": history.history["primary_loss"][-1],
            "acc": history.history["primary_acc"][-1], "first": float(per_step[:FLAGS.first_steps].mean()),
            "moved": float(moved / norm)}


def main(argv):
    del argv
    if os.path.isfile(os.path.join(FLAGS.model_dir, CONFIG_FILE)):  # an existing run: check it before any work
        try:
            ce_run_config(FLAGS.model_dir)
        except RunDirError as e:
            raise app.UsageError(f"--model_dir: {e}")
    ensure_run()
    resolved = ce_run_config(FLAGS.model_dir)
    data = DataConfig(**resolved["data"])
    train = load_split(make_source(data), "train", data, progress=False)
    pipeline = PipelineConfig(**resolved["pipeline"])
    steps = resolved["derived"]["steps_per_epoch"]
    rows = {
        "lr unchanged": continue_one_epoch(pipeline, train, steps, "pytorch", 1.0),
        f"lr x{FLAGS.factor:g}, PyTorch momentum form": continue_one_epoch(pipeline, train, steps, "pytorch", FLAGS.factor),
        f"lr x{FLAGS.factor:g}, Keras momentum form": continue_one_epoch(pipeline, train, steps, "keras", FLAGS.factor),
    }
    first = next(iter(rows.values()))
    print(f"\none epoch ({steps} steps, the same batches for every row) from {FLAGS.model_dir} at step {first['step']}; "
          f"{machine()}")
    print(f"{'continuation':<34} {'lr':>8} {'train loss':>11} {'train acc':>10} "
          f"{f'first {FLAGS.first_steps} steps':>15} {'|dw| / |w|':>11}")
    for name, r in rows.items():
        print(f"{name:<34} {r['lr']:>8.4g} {r['loss']:>11.4f} {r['acc']:>10.4f} {r['first']:>15.4f} {r['moved']:>11.4f}")
    torch_row, keras_row = list(rows.values())[1:]
    print(f"after the drop, Keras form / PyTorch form: train loss {keras_row['loss'] / torch_row['loss']:.2f}x, "
          f"first {FLAGS.first_steps} steps {keras_row['first'] / torch_row['first']:.2f}x, weight movement "
          f"{keras_row['moved'] / torch_row['moved']:.1f}x")


if __name__ == "__main__":
    tf.get_logger().setLevel("ERROR")
    app.run(main)
