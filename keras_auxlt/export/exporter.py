"""From a train.py run directory to a published SavedModel version (and ONNX file), checked first.

Order of work: every check that needs no computation (run dir, checkpoint, flags against the
checkpoint, writable output, free version) runs before the model is loaded; the loaded model must
predict what the checkpoint predicted when training ended (keras_auxlt.fingerprint); the SavedModel and
the ONNX file are written into a staging directory, reloaded and compared with the in-memory
model on real images from the run's test split, and only then renamed into place.
"""

import dataclasses
import json
import os
import re

import numpy as np
import tensorflow as tf

from keras_auxlt import calibration, fingerprint
from keras_auxlt.export import onnx_model, versions
from keras_auxlt.export.errors import ExportError
from keras_auxlt.export.metadata import DEFAULT_MAX_PIXELS, EXPORT_INFO_FILE, read_export_info
from keras_auxlt.export.signatures import LABELS_FILE, ServingModule, decode_images

# SavedModel (reloaded) vs the in-memory Keras model: float32 rounding only, so the bound scales
# with the logits: max |logit difference| <= SAVED_MODEL_TOLERANCE * max(1, max |logit|).
SAVED_MODEL_TOLERANCE = 1e-5
ONNX_TOLERANCE = 1e-4  # max |logit difference|, onnxruntime vs in-memory Keras model
PROBS_TOLERANCE = 1e-4  # max |probability difference| of either export against the Keras model's tempered softmax
MODEL_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


@dataclasses.dataclass(frozen=True)
class ExportOptions:
    model_dir: str
    export_base: str
    model_name: str
    version: int = 0  # 0: one past the highest existing version
    checkpoint: str = "auto"  # run_files.CHECKPOINT_CHOICES: auto (inference, else best, else last), inference, best, last
    onnx: bool = True
    opset: int = onnx_model.DEFAULT_OPSET
    top_k: int = 5  # capped at the class count
    backbone: str = ""  # when set, must match the checkpoint's backbone
    num_classes: int = 0  # when set, must match the checkpoint's class count
    verify_images: int = 64  # images from the run's test split used for the parity checks
    max_image_pixels: int = DEFAULT_MAX_PIXELS  # serving_bytes refuses larger images before decoding them
    # probs = softmax(logits / T): "auto" takes T from the run's metrics.json (fitted on validation) when the checkpoint
    # exported is the one evaluated there, else 1; "none" is 1 (raw softmax); a number is that T
    temperature: str = "auto"


@dataclasses.dataclass(frozen=True)
class ExportResult:
    version: int
    saved_model_dir: str
    onnx_path: str  # "" when --noonnx
    checks: dict  # check name -> figure (max abs logit difference, agreement, counts)
    verification_data: str

    def summary(self):
        lines = [f"[export] SavedModel {self.saved_model_dir}"]
        if self.onnx_path:
            lines.append(f"[export] ONNX       {self.onnx_path}")
        lines.append(f"[export] checked on {self.verification_data}:")
        lines += [f"[export]   {name}: {value}" for name, value in self.checks.items()]
        return "\n".join(lines)


def onnx_path_for(export_base, model_name, version):
    """ONNX file beside the model's base path, outside the version directories TF Serving scans."""
    return os.path.join(export_base, f"{model_name}-{version}.onnx")


def export_run(options, log=print):
    from keras_auxlt.run_files import RunDirError, checkpoint_path, read_run_config

    if not MODEL_NAME_PATTERN.match(options.model_name or ""):
        raise ExportError(f"--model_name must be letters, digits, '_', '.', '-' (not starting with '.' or '-'). "
                          f"Received: {options.model_name!r}")
    try:
        resolved = read_run_config(options.model_dir)
        checkpoint_name, checkpoint = checkpoint_path(options.model_dir, options.checkpoint)
    except RunDirError as e:
        raise ExportError(str(e)) from e
    class_names = list(resolved["derived"]["class_names"])
    bad = [name for name in class_names if not name or "\n" in name or "\r" in name]
    if bad:
        raise ExportError(f"{options.model_dir}/config.json: class names must be non-empty single lines for the "
                          f"labels asset. Received: {bad[:5]!r}")
    if options.max_image_pixels < 1:
        raise ExportError(f"--max_image_pixels must be >= 1. Received: {options.max_image_pixels}")
    image_size = int(resolved["pipeline"]["image_size"])
    eval_style = resolved["pipeline"]["eval_style"]
    versions.check_writable(options.export_base)
    base_path = os.path.join(options.export_base, options.model_name)
    version = versions.choose_version(base_path, options.version)
    onnx_path = onnx_path_for(options.export_base, options.model_name, version) if options.onnx else ""
    if onnx_path and os.path.exists(onnx_path):
        raise ExportError(f"{onnx_path} exists already; versions are never overwritten")

    log(f"[export] loading {checkpoint}")
    trained = load_float32(checkpoint)
    check_against_flags(trained, options, class_names, checkpoint)
    try:  # the network that was trained and evaluated, not only a file that loads
        as_trained = fingerprint.check(os.path.dirname(checkpoint), checkpoint_name, trained)
    except fingerprint.FingerprintMismatch as e:
        raise ExportError(str(e)) from e
    temperature, temperature_source = export_temperature(options, checkpoint_name)
    log(f"[export] probabilities: softmax(logits / {temperature:.4g}), {temperature_source}")
    primary = trained.primary_model(name=f"{options.model_name}_primary")
    top_k = min(options.top_k, trained.num_classes)
    if top_k < 1:
        raise ExportError(f"--top_k must be >= 1. Received: {options.top_k}")

    encoded, data_origin = verification_images(resolved, options.verify_images, image_size, log)
    images = decode_images(tf.constant(encoded), image_size, eval_style, options.max_image_pixels)
    expected = primary(images, training=False).numpy()

    destination = os.path.join(base_path, str(version))
    with versions.staging_dir(base_path, version) as staging:
        saved_model_dir = os.path.join(staging, "saved_model")
        labels_path = os.path.join(staging, LABELS_FILE)
        with open(labels_path, "w") as f:
            f.write("\n".join(class_names) + "\n")
        source = f"{os.path.abspath(options.model_dir)} ({checkpoint_name})"
        info = {"max_image_pixels": options.max_image_pixels, "image_size": image_size, "eval_style": eval_style,
                "top_k": top_k, "num_classes": len(class_names), "source": source, "temperature": temperature,
                "temperature_source": temperature_source}
        info_path = os.path.join(staging, EXPORT_INFO_FILE)
        with open(info_path, "w") as f:
            json.dump(info, f, indent=1)
        log(f"[export] writing the SavedModel (signatures serving_default, serving_bytes; top-{top_k}; images over "
            f"{options.max_image_pixels} pixels refused)")
        module = ServingModule(primary, labels_path, info_path, image_size, eval_style, top_k,
                               options.max_image_pixels, temperature)
        tf.saved_model.save(module, saved_model_dir, signatures=module.signatures())
        checks = {"as at the end of training": as_trained or f"not recorded for {checkpoint_name} (a run of before "
                                                              "2026-12-02, or one that has not finished)"}
        checks.update(check_saved_model(saved_model_dir, primary, images, encoded, expected, class_names, temperature))
        if read_export_info(saved_model_dir) != info:
            raise ExportError(f"SavedModel: assets/{EXPORT_INFO_FILE} does not round-trip")
        staged_onnx = os.path.join(staging, "model.onnx")
        if onnx_path:
            log(f"[export] converting to ONNX (opset {options.opset})")
            proto = onnx_model.convert(primary, image_size, options.opset,
                                       onnx_model.metadata(class_names, image_size, source, temperature), temperature)
            with open(staged_onnx, "wb") as f:
                f.write(proto.SerializeToString())
            checks.update(check_onnx(staged_onnx, images, expected, class_names, temperature))
        versions.publish(saved_model_dir, destination)
        if onnx_path:
            versions.publish(staged_onnx, onnx_path)
    return ExportResult(version, destination, onnx_path, checks, data_origin)


def export_temperature(options, checkpoint_name):
    """(T, where it comes from) of the exported probabilities, softmax(logits / T); see ExportOptions.temperature."""
    from keras_auxlt.run_files import METRICS_FILE

    if options.temperature == "none":
        return 1.0, "raw softmax (--temperature=none)"
    if options.temperature != "auto":
        try:
            value = float(options.temperature)
        except ValueError:
            value = float("nan")
        if not value > 0 or not np.isfinite(value):
            raise ExportError(f"--temperature must be auto, none or a positive number. Received: {options.temperature!r}")
        return value, f"--temperature={options.temperature}"
    path = os.path.join(options.model_dir, METRICS_FILE)
    try:
        with open(path) as f:
            metrics = json.load(f)
    except (OSError, ValueError):
        return 1.0, f"raw softmax: no {METRICS_FILE} with a fitted temperature in the run"
    evaluated = (metrics.get("inference_statistics") or {}).get("checkpoint", metrics.get("checkpoint"))
    if "temperature" not in metrics:
        return 1.0, (f"raw softmax: the run's {METRICS_FILE} has no temperature (no validation split, or a run of "
                     "before 2026-12-08)")
    if evaluated != checkpoint_name:
        return 1.0, f"raw softmax: the temperature was fitted for {evaluated}, not {checkpoint_name}"
    return float(metrics["temperature"]), f"the temperature fitted on the run's validation split for {checkpoint_name}"


def load_float32(checkpoint):
    """Load a checkpoint with float32 layers, whatever precision it was trained in."""
    from keras_auxlt.training import saving

    try:
        return saving.load_float32(checkpoint)
    except Exception as e:  # a truncated or foreign file: name it
        raise ExportError(f"cannot load checkpoint {checkpoint}: {e}") from e


def check_against_flags(trained, options, class_names, checkpoint):
    if options.backbone and options.backbone != trained.backbone_name:
        raise ExportError(f"--backbone={options.backbone} does not match the checkpoint {checkpoint}, which is a "
                          f"{trained.backbone_name}")
    if options.num_classes and options.num_classes != trained.num_classes:
        raise ExportError(f"--num_classes={options.num_classes} does not match the checkpoint {checkpoint}, which "
                          f"has {trained.num_classes} classes")
    if len(class_names) != trained.num_classes:
        raise ExportError(f"{options.model_dir}/config.json lists {len(class_names)} class names but the checkpoint "
                          f"{checkpoint} has {trained.num_classes} classes")


def verification_images(resolved, count, image_size, log=print):
    """(encoded images, where they came from): `count` evenly spaced images of the run's test split.

    When that split cannot be loaded here (data moved, another machine), generated images stand in
    and the origin says so.
    """
    from keras_auxlt.data.errors import DataError
    from keras_auxlt.data.loading import DataConfig, load_split, make_source

    try:
        config = dataclasses.replace(DataConfig(**resolved["data"]), validate_images=False)
        split = load_split(make_source(config), "test", config, progress=False)
        picks = np.linspace(0, len(split) - 1, min(count, len(split))).round().astype(int)
        if split.paths is not None:
            encoded = [tf.io.read_file(split.paths[i]).numpy() for i in picks]
        else:
            encoded = [tf.io.encode_png(split.images[i]).numpy() for i in picks]
        return encoded, f"{len(picks)} images of the run's test split ({split.where})"
    except (DataError, OSError, tf.errors.OpError, KeyError, TypeError) as e:
        log(f"[export] the run's test split is not available here ({e}); checking on generated images")
        rng = np.random.default_rng(0)
        generated = rng.integers(0, 256, size=(count, image_size, image_size, 3), dtype=np.uint8)
        return [tf.io.encode_png(image).numpy() for image in generated], f"{count} generated random images"


def max_difference(a, b):
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def exported_variables(saved_model_dir):
    """{checkpoint key: shape} of every variable stored in a SavedModel's variables/ checkpoint."""
    reader = tf.train.load_checkpoint(os.path.join(saved_model_dir, "variables", "variables"))
    return {key: tuple(shape) for key, shape in reader.get_variable_to_shape_map().items()
            if key.endswith("/.ATTRIBUTES/VARIABLE_VALUE")}


def saved_model_bound(expected):
    """The largest |logit difference| accepted between the SavedModel and the Keras model."""
    return SAVED_MODEL_TOLERANCE * max(1.0, float(np.max(np.abs(expected))))


def check_saved_model(path, primary, images, encoded, expected, class_names, temperature=1.0):
    """Reload the SavedModel and compare every signature with the in-memory model (probs: its tempered softmax)."""
    exported = exported_variables(path)
    expected_shapes = sorted(tuple(w.shape) for w in primary.weights)
    if sorted(exported.values()) != expected_shapes:
        raise ExportError(f"the SavedModel holds {len(exported)} variables, the primary model {len(expected_shapes)}: "
                          "the export must hold exactly the backbone and the primary head")
    checks = {"saved_model_variables": len(exported)}
    loaded = tf.saved_model.load(path)
    outputs = {"serving_default": loaded.signatures["serving_default"](images=images),
               "serving_bytes": loaded.signatures["serving_bytes"](image_bytes=tf.constant(encoded))}
    names = np.asarray(class_names)
    for signature, out in outputs.items():
        difference = max_difference(out["logits"], expected)
        if difference > saved_model_bound(expected):
            raise ExportError(f"SavedModel {signature}: logits differ from the Keras model by {difference:.2e} "
                              f"(tolerance {saved_model_bound(expected):.2e})")
        probs = max_difference(out["probs"], calibration.softmax(np.asarray(expected, np.float64) / temperature))
        if probs > PROBS_TOLERANCE:
            raise ExportError(f"SavedModel {signature}: probs differ from softmax(logits / {temperature:.4g}) of the "
                              f"Keras model by {probs:.2e} (tolerance {PROBS_TOLERANCE:g})")
        decoded = out["class_names"].numpy().astype(str)
        if not np.array_equal(decoded, names[out["classes"].numpy()]):
            raise ExportError(f"SavedModel {signature}: class_names do not match the labels of classes")
        checks[f"{signature} max |logit diff|"] = f"{difference:.2e}"
    return checks


def check_onnx(path, images, expected, class_names, temperature=1.0):
    import onnx

    onnx.checker.check_model(path)
    sess = onnx_model.session(path)
    outputs = onnx_model.run(sess, images)
    logits = outputs["logits"]
    probs = max_difference(outputs["probs"], calibration.softmax(np.asarray(expected, np.float64) / temperature))
    if probs > PROBS_TOLERANCE:
        raise ExportError(f"ONNX: probs differ from softmax(logits / {temperature:.4g}) of the Keras model by "
                          f"{probs:.2e} (tolerance {PROBS_TOLERANCE:g})")
    difference = max_difference(logits, expected)
    agree = int(np.sum(np.argmax(logits, -1) == np.argmax(expected, -1)))
    if difference > ONNX_TOLERANCE or agree != len(expected):
        raise ExportError(f"ONNX: logits differ from the Keras model by {difference:.2e} (tolerance "
                          f"{ONNX_TOLERANCE:g}); top-1 agrees on {agree}/{len(expected)} images")
    if onnx_model.class_names_of(sess) != list(class_names):
        raise ExportError("ONNX: class_names metadata does not round-trip")
    return {"onnx max |logit diff|": f"{difference:.2e}", "onnx top-1 agreement": f"{agree}/{len(expected)}"}
