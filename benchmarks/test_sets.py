"""Score finished runs on both test sets of the shared CIFAR-10: the originals and the JPEG copy.

    ./run python -m benchmarks.test_sets --runs=$HOME/auxlt/png200/runs/ce/seed0[,...]

The PNG copy (../shared/data/cifar10/cifar10_png.tar.gz) holds the first 1,000 original test images, the
JPEG copy all 10,000 as JPEG q75 under the same names (test/<class>/NNNN.png is the original of NNNN.jpg).
A run trained on the PNG copy was scored on its 1,000 originals when training ended (metrics.json); this
scores the same network, the checkpoint that metrics.json names, on the 10,000 JPEG test images too, and
on the 1,000 images that exist in both copies, PNG against JPEG, paired by image: the shift that testing
on JPEG pixels costs. Each run gets `test_sets.json` (TEST_SETS_FILE); nothing is chosen here, and the
originals' score must equal the one metrics.json recorded (the same network on the same images).
"""

import hashlib
import os
import shutil

import numpy as np
from absl import app, flags

from benchmarks.comparison import standard_error
from benchmarks.runs import TEST_SETS_FILE, read_json
from keras_auxlt.data.shots import SHOT_GROUPS
from keras_auxlt.run_files import METRICS_FILE, checkpoint_dir, read_run_config, write_json

SHARED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared", "data", "cifar10")

flags.DEFINE_list("runs", [], "Finished run directories (trained on the PNG copy) to score.")
flags.DEFINE_string("png", os.path.join(SHARED, "cifar10_png.tar.gz"), "The PNG copy (folder or archive).")
flags.DEFINE_string("jpeg", os.path.join(SHARED, "cifar10_jpg.tar.gz"), "The JPEG copy (folder or archive).")
flags.DEFINE_bool("overwrite", False, "Score runs that already have test_sets.json again.")
flags.DEFINE_string("keep_into", "", "If set, copy each scored run's kept files (metrics.json, config.json, its timing, "
                    "test_sets.json) into <keep_into>/<method>/seed<k>/, as the results page reads them.")
FLAGS = flags.FLAGS


def image_keys(split):
    """`<class folder>/<file stem>` of every image of an image-folder split: the name both copies share."""
    return [os.path.join(os.path.basename(os.path.dirname(p)), os.path.splitext(os.path.basename(p))[0])
            for p in split.paths]


def paired_shift(keys_a, correct_a, keys_b, correct_b):
    """Top-1 on the images named in both lists, a and b, and a - b paired by image, with its standard error."""
    index_b = {key: i for i, key in enumerate(keys_b)}
    both = [(i, index_b[key]) for i, key in enumerate(keys_a) if key in index_b]
    if not both:
        raise ValueError("the two test sets share no image name")
    a = np.asarray([correct_a[i] for i, _ in both], np.float64)
    b = np.asarray([correct_b[j] for _, j in both], np.float64)
    return {"n": len(both), "png": float(a.mean()), "jpeg": float(b.mean()), "shift": float(a.mean() - b.mean()),
            "se": standard_error(list(a - b))}


def scored(labels, predictions, report, keys):
    """A test set's entry: top-1 with its standard error over the images, the shot groups, and which images the
    network got right ("correct": a 0/1 string in the order of `keys`, whose sha256 is "keys_sha256"), so that
    two runs can be compared image by image."""
    correct = labels == predictions
    return {"n": int(len(labels)), "top1": float(correct.mean()), "se": standard_error(list(correct.astype(np.float64))),
            **{group: report[group] for group in SHOT_GROUPS},
            "correct": "".join("1" if c else "0" for c in correct),
            "keys_sha256": hashlib.sha256("\n".join(keys).encode()).hexdigest()}, correct


def score_run(run_dir, png_source, jpeg_source, log=print):
    """test_sets.json of one finished run (written into it and returned)."""
    from keras_auxlt import fingerprint
    from keras_auxlt.data.loading import DataConfig, load_split
    from keras_auxlt.data.pipeline import PipelineConfig
    from keras_auxlt.evaluation import accuracy_report, predict_heads
    from keras_auxlt.training.saving import load_float32

    metrics = read_json(os.path.join(run_dir, METRICS_FILE), None)
    resolved = read_run_config(run_dir)
    name = metrics["inference_statistics"]["checkpoint"]
    model = load_float32(os.path.join(checkpoint_dir(run_dir), name))
    fingerprint.check(checkpoint_dir(run_dir), name, model)  # the network the run ended with
    pipeline = PipelineConfig(**resolved["pipeline"])
    counts = resolved["derived"]["class_counts"]
    result, correct, keys = {"checkpoint": name}, {}, {}
    for label, source in (("originals", png_source), ("jpeg", jpeg_source)):
        split = load_split(source, "test", DataConfig(data_dir=source.origin, validate_images=False), progress=False)
        if list(split.class_names) != resolved["derived"]["class_names"]:
            raise SystemExit(f"{source.origin}: classes {list(split.class_names)} are not the run's")
        labels, predictions = predict_heads(model, split, pipeline, progress=False)
        report, _ = accuracy_report(labels, predictions["primary"], counts, split.class_names)
        keys[label] = image_keys(split)
        result[label], correct[label] = scored(labels, predictions["primary"], report, keys[label])
    if abs(result["originals"]["top1"] - metrics["overall"]) > 1e-9:
        raise SystemExit(f"{run_dir}: {name} scores {result['originals']['top1']:.4f} on the originals, "
                         f"metrics.json says {metrics['overall']:.4f}: not the network or the images it was scored on")
    result["pairs"] = paired_shift(keys["originals"], correct["originals"], keys["jpeg"], correct["jpeg"])
    write_json(os.path.join(run_dir, TEST_SETS_FILE), result)
    pairs = result["pairs"]
    log(f"[test_sets] {run_dir}: originals {result['originals']['top1']:.4f} (n={result['originals']['n']}), "
        f"JPEG {result['jpeg']['top1']:.4f} (n={result['jpeg']['n']}); on the {pairs['n']} pairs PNG {pairs['png']:.4f} "
        f"- JPEG {pairs['jpeg']:.4f} = {pairs['shift']:+.4f} ± {pairs['se']:.4f}")
    return result


def main(argv):
    del argv
    from keras_auxlt.runtime import initialize_devices

    if not FLAGS.runs:
        raise app.UsageError("--runs: give at least one finished run directory")
    initialize_devices()  # before anything imports TensorFlow
    from keras_auxlt.data.sources import ImageFolderSource

    png, jpeg = ImageFolderSource(FLAGS.png), ImageFolderSource(FLAGS.jpeg)
    for run_dir in FLAGS.runs:
        if not os.path.isfile(os.path.join(run_dir, METRICS_FILE)):
            raise SystemExit(f"{run_dir}: no {METRICS_FILE}: not a finished run")
        if os.path.isfile(os.path.join(run_dir, TEST_SETS_FILE)) and not FLAGS.overwrite:
            print(f"[test_sets] {run_dir}: scored already ({TEST_SETS_FILE})")
            continue
        score_run(run_dir, png, jpeg)
    for run_dir in FLAGS.runs if FLAGS.keep_into else ():
        print(f"[test_sets] kept: {keep(run_dir, FLAGS.keep_into)}")


def keep(run_dir, base):
    """Copy a finished, scored run's KEPT_FILES and test_sets.json into base/<method>/seed<k>/ (from its path)."""
    from benchmarks.runs import KEPT_FILES, RUN_FILES, is_finished

    if not is_finished(run_dir) or not os.path.isfile(os.path.join(run_dir, TEST_SETS_FILE)):
        raise SystemExit(f"{run_dir}: not a finished, scored run (needs {', '.join(RUN_FILES)}, {TEST_SETS_FILE})")
    seed, method = os.path.basename(os.path.normpath(run_dir)), os.path.basename(os.path.dirname(os.path.normpath(run_dir)))
    target = os.path.join(base, method, seed)
    os.makedirs(target, exist_ok=True)
    for name in (*KEPT_FILES, TEST_SETS_FILE):
        if os.path.isfile(os.path.join(run_dir, name)):
            shutil.copyfile(os.path.join(run_dir, name), os.path.join(target, name))
    return target


if __name__ == "__main__":
    app.run(main)
