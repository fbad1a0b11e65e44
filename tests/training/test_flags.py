"""Bad flags fail before any work, naming the flag and the accepted values."""

import dataclasses
import json
import subprocess
import sys

import pytest

from keras_auxlt.data.loading import DataConfig
from keras_auxlt.training.config import ModelConfig, OptimConfig, RunConfig
from tests import train_flags
from tests.conftest import REPO_ROOT, repo_env


@pytest.mark.parametrize("change, message", [
    (dict(method="crt"), "--init_from: method crt needs the run directory of a trained model"),
    (dict(method="ce", init_from="runs/x"), "--init_from: only method crt starts from another run"),
    (dict(method="crt", init_from="", stage_one_flagfile="flags/cifar10_lt_mislas.cfg"),
     "--init_from: method crt needs the run directory of a trained model"),
    (dict(method="ce", stage_one_flagfile="flags/cifar10_lt_mislas.cfg"),
     "--stage_one_flagfile: the recipe of the --init_from run: give --init_from too"),
    (dict(method="ce", model=ModelConfig(crt_classifier="lws")),
     "--crt_classifier: only method crt has a second-stage classifier, not ce. Received: --crt_classifier='lws'"),
    (dict(method="crt", init_from="runs/x", model=ModelConfig(crt_classifier="scaled")),
     "--crt_classifier: accepted values: fresh, lws. Received: --crt_classifier='scaled'"),
    (dict(method="focal"), "--method: accepted values: auxlt, ce, balanced, cb_loss, drw, logit_adjust, ldam_drw, crt, bbn. "
                           "Received: --method='focal'"),
    (dict(method="drw", epochs=30, drw_start_epoch=30), "--drw_start_epoch: must be in [0, --epochs=30)"),
    (dict(model=ModelConfig(backbone="vgg16")), "--backbone: accepted values: resnet20, resnet32"),
    (dict(model=ModelConfig(aux_tasks=("random", "jigsaw"))),
     "--aux_tasks: accepted values: random, random_shared, reweighted, rotation, random_adjusted. "
     "Received: --aux_tasks='random,jigsaw'"),
    (dict(model=ModelConfig(aux_tasks=())), "--aux_tasks: method auxlt needs at least one auxiliary task"),
    (dict(model=ModelConfig(aux_tasks=("random",), aux_weights=(-0.5,))),
     "--aux_weights: weights must be finite and >= 0"),
    (dict(model=ModelConfig(aux_tasks=("random",), aux_weights=(1.0, 1.0))), "--aux_weights: one weight per task"),
    (dict(model=ModelConfig(lambda_schedule="linear")), "--lambda_schedule: accepted values: constant, cumulative"),
    (dict(model=ModelConfig(stream_batch_norm="ghost")),
     "--stream_batch_norm: accepted values: joint, separate. Received: --stream_batch_norm='ghost'"),
    (dict(model=ModelConfig(mixup_alpha=-0.2)), "--mixup_alpha: must be finite and >= 0 (0: no mixup). "
                                                "Received: --mixup_alpha=-0.2"),
    (dict(model=ModelConfig(mixup_alpha=float("nan"))), "--mixup_alpha: must be finite and >= 0"),
    (dict(model=ModelConfig(mixup_alpha=0.2, mixup_streams=("instance",))),
     "--mixup_streams: one or both of balanced, random. Received: --mixup_streams='instance'"),
    (dict(model=ModelConfig(mixup_alpha=0.2, mixup_streams=())), "--mixup_streams: one or both of balanced, random"),
    (dict(data=DataConfig(val_per_class=-1)), "--val_per_class: must be >= 0"),
    (dict(inference_statistics="mean"), "--inference_statistics: accepted values: as_trained, joint, balanced, "
                                        "random, auto. Received: --inference_statistics='mean'"),
    (dict(inference_statistics_steps=0), "--inference_statistics_steps: must be >= 1"),
    (dict(strategy="tpu_pod"), "--strategy: accepted values: auto, mirrored, multi_worker, one_device"),
    (dict(epochs=0), "--epochs: must be >= 1"),
    (dict(optim=OptimConfig(schedule="step")), "--lr_schedule: accepted values: multistep, cosine"),
    (dict(optim=OptimConfig(lr_milestones=(10,), lr_factors=())), "--lr_factors: one factor per --lr_milestones"),
    (dict(optim=OptimConfig(weight_decay=-1e-4)), "--weight_decay: must be >= 0"),
])
def test_bad_values_name_the_flag(change, message):
    with pytest.raises(ValueError) as e:
        dataclasses.replace(RunConfig(), **change).check()
    assert message in str(e.value)


def test_batch_size_must_divide_among_replicas():
    with pytest.raises(ValueError, match=r"--batch_size: must be a positive multiple of the replica count \(4\). "
                                         r"Received: --batch_size=126"):
        dataclasses.replace(RunConfig(), pipeline=dataclasses.replace(RunConfig().pipeline, batch_size=126)).check(4)


@pytest.mark.large
def test_train_py_rejects_a_bad_flag_before_loading_data(tmp_path):
    out = subprocess.run([sys.executable, "train.py", "--flagfile=flags/cifar10_lt.cfg", f"--data_dir={tmp_path}/does_not_matter",
                          f"--model_dir={tmp_path}/run", "--backbone=vgg16"],
                         cwd=REPO_ROOT, env=repo_env(), capture_output=True, text=True, timeout=300)
    assert out.returncode != 0
    assert ("flag --backbone=vgg16: value should be one of <resnet20|resnet32|resnet44|resnet56|resnet110|resnet20_s2|"
            "resnet32_s2|resnet44_s2|resnet56_s2|resnet110_s2|resnet10|resnet50>") in out.stderr, out.stderr[-2000:]
    assert not (tmp_path / "run").exists(), "no work may start on bad flags"


def test_bad_flags_are_refused_at_parsing_naming_the_flag_and_the_accepted_values():
    """train.py's own parse-and-check, one process for every case (test above: train.py itself stops on one),
    all before TensorFlow loads."""
    cases = [
        (["--method=focal"], "flag --method=focal: value should be one of <auxlt|ce|balanced|cb_loss|drw|"
                             "logit_adjust|ldam_drw|crt|bbn>"),
        (["--inference_statistics=best"], "--inference_statistics: accepted values: as_trained, joint, balanced, random, "
                                          "auto. Received: --inference_statistics='best'"),
        (["--aux_weights=1,x"], "--aux_weights: expected a comma-separated list of floats"),
        (["--imbalance_ratio=0.5"], "--imbalance_ratio: must be >= 1"),
        (["--lt_profile=linear"], "value should be one of <exp|step>"),
    ]
    results = train_flags.resolve({str(i): ["--flagfile=flags/cifar10_lt.cfg", *extra] for i, (extra, _) in enumerate(cases)})
    for i, (extra, message) in enumerate(cases):
        error = results[str(i)]["error"]
        assert error is not None and message in error, (extra, error)
    assert not any(result["tensorflow_loaded"] for result in results.values())


def test_every_shipped_flagfile_resolves_to_a_valid_config_and_cifar_schedules_share_one_shape():
    paths = sorted(f"flags/{p.name}" for p in (REPO_ROOT / "flags").glob("*.cfg"))
    results = train_flags.resolve({path: ["--flagfile=" + path] for path in paths})
    assert {path: result["error"] for path, result in results.items()} == dict.fromkeys(paths)
    configs = {path: dict(epochs=r["config"]["epochs"], milestones=r["config"]["optim"]["lr_milestones"],
                          factors=r["config"]["optim"]["lr_factors"], drw=r["config"]["drw_start_epoch"],
                          method=r["config"]["method"], mixed=r["mixed_streams"]) for path, r in results.items()}
    # The short schedules are the 200-epoch recipe compressed: milestones and DRW at the same fractions
    # of training (0.8 and 0.9), the same factors; the 2x one has twice the short one's epochs.
    recipes = [configs[f"flags/{name}.cfg"] for name in ("cifar10_lt", "cifar10_lt_short", "cifar10_lt_short_2x",
                                                         "tiny_imagenet_lt", "tiny_imagenet_lt_short")]
    assert [r["epochs"] for r in recipes] == [200, 30, 60, 200, 30]
    for recipe in recipes:
        assert [m / recipe["epochs"] for m in recipe["milestones"]] == pytest.approx([0.8, 0.9])
        assert recipe["drw"] / recipe["epochs"] == pytest.approx(0.8)
        assert recipe["factors"] == [0.01, 0.0001]
    # The AuxLT CIFAR recipe mixes both of AuxLT's streams (docs/results.md, auxlt_mixup); AuxLT as
    # published and the cRT stages do not; MiSLAS's first stage mixes its one stream; the ImageNet-style recipes
    # were not screened and do not.
    # Tiny-ImageNet-LT's recipe trains the CIFAR-10-LT AuxLT recipe on its own data and backbone.
    mixing = {path: c["mixed"] for path, c in configs.items() if c["mixed"]}
    assert mixing == {**{f"flags/{name}.cfg": ["balanced", "random"] for name in
                         ("cifar10_lt", "cifar10_lt_short", "cifar10_lt_short_2x", "cifar10_lt_smoke", "cifar100_lt",
                          "tiny_imagenet_lt", "tiny_imagenet_lt_short")},
                      "flags/cifar10_lt_mislas.cfg": ["random"]}
    assert configs["flags/cifar10_lt_paper.cfg"]["method"] == "auxlt"
    assert {configs[f"flags/{name}.cfg"]["method"] for name in ("cifar10_lt_crt", "cifar10_lt_short_crt",
                                                                "tiny_imagenet_lt_crt")} == {"crt"}
    tiny = {path: results[path]["config"] for path in ("flags/tiny_imagenet_lt.cfg", "flags/tiny_imagenet_lt_bbn.cfg")}
    for config in tiny.values():  # the data as it is: no second long-tail cut, its own validation split
        assert config["data"]["imbalance_ratio"] == 1 and config["data"]["val_per_class"] == 0
        assert config["data"]["train_list"] == "TinyImageNet_LT_train.txt" and config["pipeline"]["image_size"] == 64


def test_flag_defaults_are_the_configs_defaults():
    """One place for each default: with no flag given, train.py's flags make RunConfig() itself."""
    resolved = train_flags.resolve({"no flags": []})["no flags"]
    assert resolved["config"] == json.loads(json.dumps(RunConfig().to_dict()))  # as the child's JSON carries it


# method, --mixup_streams as named before 2026-12-06, as it reads now, the streams mixed
OLD_MIXUP_STREAMS = [
    ("auxlt", "primary,auxiliary", ["balanced", "random"], ["balanced", "random"]),
    ("auxlt", "auxiliary", ["random"], ["random"]),
    ("ce", "primary,auxiliary", ["random", "balanced"], ["random"]),  # auxiliary: a stream ce does not draw
    ("ce", "auxiliary", ["balanced"], []),
    ("balanced", "primary", ["balanced"], ["balanced"]),
]


def test_old_stream_names_are_accepted_with_a_warning_and_mean_what_they_meant():
    results = train_flags.resolve({f"{method} {old}": [f"--method={method}", "--mixup_alpha=0.5", f"--mixup_streams={old}",
                                                        "--inference_statistics=instance"]
                                   for method, old, _, _ in OLD_MIXUP_STREAMS})
    for method, old, new, mixed in OLD_MIXUP_STREAMS:
        result = results[f"{method} {old}"]
        assert result["config"]["model"]["mixup_streams"] == new and result["mixed_streams"] == mixed, (method, old, result)
        assert result["config"]["inference_statistics"] == "random"
        assert result["warnings"] == [
            f"RenamedValueWarning: --mixup_streams={old} is a name of an earlier version; it now reads "
            f"--mixup_streams={','.join(new)} (the streams are called balanced and random). The old name still works "
            "but will be removed.",
            "RenamedValueWarning: --inference_statistics=instance is a name of an earlier version; it now reads "
            "--inference_statistics=random (the streams are called balanced and random). The old name still works "
            "but will be removed."], (method, old)
