"""A rerun of train.py into a run directory that holds a checkpoint resumes that run, so it must ask for
the run that was started: the checkpoint carries the model, the optimizer and their schedules as they
were built, and a changed flag would not change them, only what config.json claims.

`check_same_settings` compares the settings a rerun asks for with those the run's config.json holds and
raises ConfigError naming every flag that differs; `check_same_data`, once the data is read, what it
resolved to. A rerun may change where things are (data and run paths), how the run is shown or
checkpointed, the devices, what happens after training (BatchNorm statistics, head), and `--epochs`
where no schedule depends on the step count. `rerun_record` is the config.json of a rerun: its settings,
the first invocation's code, decoding and padding, and one entry per rerun.
"""

import json

from keras_auxlt import renamed
from keras_auxlt.choices import METHODS, STREAMS
from keras_auxlt.data.decoding import JPEG_DCT
from keras_auxlt.provenance import code_version
from keras_auxlt.training.config import ConfigError

# Settings (dotted config.json keys) a rerun may change: the trained model does not depend on them.
FREE_SETTINGS = frozenset({
    "data.data_dir", "data.tfds_download", "data.train_list", "data.val_list", "data.test_list",
    "data.class_names_file", "data.validate_images", "data.skip_bad_images", "model_dir", "strategy",
    "deterministic", "verbose", "checkpoint_every_steps", "init_from", "stage_one_flagfile", "inference_statistics",
    "inference_statistics_steps", "inference_head",
})
# What the data gave (config.json "derived"): paths may change, the images they hold may not.
DATA_FACTS = ("class_names", "class_counts", "num_train_images", "val_summary")
# The flag of a setting whose name differs from its key's last part.
FLAG_NAMES = {"optim.schedule": "lr_schedule", "pipeline.seed": "seed"}


def check_same_settings(started, settings, path):
    """ConfigError listing every flag of `settings` (RunConfig.to_dict() of the rerun) that differs from
    `started` (the run's config.json, read from `path`)."""
    differences = {}
    old, new = _flatten(_comparable(started)), _flatten(_comparable(_as_json(settings)))
    for key in sorted(old.keys() & new.keys()):  # a key one side lacks: code of another version, not a flag
        if key in FREE_SETTINGS or key == "epochs" or old[key] == new[key]:
            continue
        differences.setdefault(FLAG_NAMES.get(key, key.rsplit(".", 1)[-1]), (old[key], new[key]))
    if started.get("epochs") != settings["epochs"] and _depends_on_step_count(started):
        differences["epochs"] = (started.get("epochs"), settings["epochs"])
    _refuse(path, [f"--{flag}={_flag_value(was)} there, --{flag}={_flag_value(now)} here"
                   for flag, (was, now) in differences.items()])


def _comparable(record):
    """A config.json (or a rerun's settings) with today's names, and the mixed streams in one order: a run
    started before the streams had their names (keras_auxlt.renamed) resumes under the flags that now ask
    for it."""
    model, method = record.get("model") or {}, record.get("method")
    if "mixup_streams" not in model or method not in METHODS:
        return record
    streams = renamed.mixup_streams(model["mixup_streams"], METHODS[method]["streams"], warn=False)
    # (--inference_statistics, renamed too, is a FREE_SETTING: a rerun may change it, so it needs no translating.)
    return {**record, "model": {**model, "mixup_streams": sorted(streams, key=_stream_order)}}


def _stream_order(stream):
    return STREAMS.index(stream) if stream in STREAMS else len(STREAMS)


def check_same_data(started, derived, path):
    """ConfigError if the rerun's data (`derived` of its resolved config) is not the run's: other class names
    or counts, training or validation images, whatever paths led there."""
    old = started.get("derived") or {}
    changed = [fact for fact in DATA_FACTS if fact in old and _as_json(derived[fact]) != old[fact]]
    if changed:
        _refuse(path, [f"the data differs ({', '.join(changed)}): {_describe_data(old)} there, "
                       f"{_describe_data(derived)} here"])


def _refuse(path, lines):
    if lines:
        raise ConfigError(f"{path}: this run was started with other settings than this command asks for, and "
                          "a rerun resumes the run as it was started:\n  " + "\n  ".join(lines) +
                          "\nPass the same flags to resume it, or a new --model_dir for a new run.")


def rerun_record(started, rerun, done_steps):
    """config.json after a rerun that found `done_steps` already trained: the rerun's settings, with the code and
    JPEG decoding of the first invocation and every rerun listed under derived.reruns (the strided padding is
    the checkpoint's own, which `rerun` already holds)."""
    record = _as_json(rerun)
    first = started.get("derived") or {}
    for key in ("code", "jpeg_dct"):  # what the checkpoint was trained with
        if key in first:
            record["derived"][key] = first[key]
        else:  # written by code that did not record it
            record["derived"].pop(key, None)
    record["derived"]["reruns"] = [*first.get("reruns", []),
                                   {"step": int(done_steps), "code": code_version(), "jpeg_dct": JPEG_DCT}]
    return record


def _depends_on_step_count(started):
    """Whether the run's learning-rate or λ schedule was built for its total step count (cosine, cumulative)."""
    auxiliary = bool((started.get("derived") or {}).get("aux_tasks"))
    return ((started.get("optim") or {}).get("schedule") == "cosine"
            or (auxiliary and (started.get("model") or {}).get("lambda_schedule") == "cumulative"))


def _flatten(config, prefix=""):
    flat = {}
    for key, value in config.items():
        if key == "derived":
            continue
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _as_json(value):
    return json.loads(json.dumps(value))  # tuples become lists, as in config.json


def _flag_value(value):
    return ",".join(str(v) for v in value) if isinstance(value, list) else str(value)


def _describe_data(derived):
    counts = derived.get("class_counts") or []
    val = derived.get("val_summary") or {}
    return (f"{len(counts)} classes, {derived.get('num_train_images')} training images"
            f"{f' ({max(counts)} to {min(counts)} per class)' if counts else ''}, "
            f"{val.get('num_images', 0)} validation images")
