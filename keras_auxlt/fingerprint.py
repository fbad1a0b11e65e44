"""What each checkpoint's primary head predicts on fixed probe images, recorded when training ends.

A `.keras` file holds weights and a config, not the code that turns them into a network: code that builds a
layer otherwise (as the strided padding changed on 2026-12-02) loads the same file without complaint and
predicts something else. Export compares the model it is about to publish with this record and refuses a
mismatch, so a deployment gets the network that was trained and evaluated, or an error that says why not.

    <model_dir>/checkpoints/fingerprint.json
    {"probes": "...", "checkpoints": {"best.keras": {"classes": [[...]], "logits": [[...]]}, ...}}

Probes: PROBES images of uniform random pixels (numpy default_rng(PROBE_SEED)) at the model's input size, fed
to the float32 model's primary head in inference mode; for each, its TOP classes and their logits.
"""

import json
import os

import numpy as np

from keras_auxlt.run_files import FINGERPRINT_FILE, write_json

PROBES = 4
PROBE_SEED = 0
TOP = 5
TOLERANCE = 1e-4  # |logit difference| <= TOLERANCE * max(1, max |logit|): float32 rounding, not another network


class FingerprintMismatch(ValueError):
    """A checkpoint that no longer predicts what it predicted when training ended."""


def probe_images(image_size):
    rng = np.random.default_rng(PROBE_SEED)
    return rng.integers(0, 256, size=(PROBES, image_size, image_size, 3)).astype(np.float32)


def primary_logits(model):
    """The float32 model's primary logits on the probe images."""
    return np.asarray(model.primary_model()(probe_images(model.image_size), training=False), np.float64)


def entry(model):
    logits = primary_logits(model)
    classes = np.argsort(-logits, axis=-1, kind="stable")[:, :min(TOP, logits.shape[-1])]
    return {"classes": classes.tolist(), "logits": np.take_along_axis(logits, classes, -1).tolist()}


def write(checkpoint_dir, models):
    """Record `models` ({checkpoint file name: float32 model loaded from it})."""
    write_json(os.path.join(checkpoint_dir, FINGERPRINT_FILE), {
        "probes": f"{PROBES} images of uniform random pixels (numpy default_rng({PROBE_SEED})), primary head, "
                  f"top {TOP} classes",
        "checkpoints": {name: entry(model) for name, model in models.items()}})


def remove(checkpoint_dir):
    """Drop the record (a run that goes on training changes its checkpoints; it is rewritten when it ends)."""
    path = os.path.join(checkpoint_dir, FINGERPRINT_FILE)
    if os.path.isfile(path):
        os.remove(path)


def check(checkpoint_dir, name, model):
    """Compare `model` (loaded in float32 from checkpoint `name`) with the record. Returns what was checked, for a
    report ("" when nothing is recorded for `name`: runs of before 2026-12-02, or training that has not ended);
    raises FingerprintMismatch when it predicts otherwise."""
    path = os.path.join(checkpoint_dir, FINGERPRINT_FILE)
    if not os.path.isfile(path):
        return ""
    with open(path) as f:
        recorded = json.load(f)["checkpoints"].get(name)
    if recorded is None:
        return ""
    logits = primary_logits(model)
    classes = np.asarray(recorded["classes"])
    expected = np.asarray(recorded["logits"], np.float64)
    if logits.shape[0] != classes.shape[0] or classes.max() >= logits.shape[-1]:
        raise FingerprintMismatch(f"{path}: {name} was recorded with another output shape than the model loaded "
                                  f"now ({logits.shape[-1]} classes)")
    difference = float(np.max(np.abs(np.take_along_axis(logits, classes, -1) - expected)))
    bound = TOLERANCE * max(1.0, float(np.max(np.abs(expected))))
    if difference > bound:
        raise FingerprintMismatch(
            f"{name} does not predict what it predicted when training ended ({path}): its logits on the probe "
            f"images differ by {difference:.3g} (tolerance {bound:.2g}). The code loading it builds another network "
            "than the code that trained it; use the code of the run's config.json (derived.code).")
    return f"{difference:.2e} max |logit diff| on {PROBES} probe images"
