"""The command-line entry points on real data: stats, the smoke training run, evaluate.py; train.py stopped by
SIGTERM."""

import json
import pathlib
import shutil
import signal
import subprocess
import sys

import pytest

from keras_auxlt.runtime import CUDA_PROBE_NOISE, has_gpu_device_node
from tests.conftest import REPO_ROOT, repo_env, write_image_folder
from tests.models.helpers import without_strided_padding


def run_cli(args, timeout=600):
    env = repo_env()
    out = subprocess.run([sys.executable, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    return out.returncode, out.stdout, out.stderr


def test_stats_from_a_list_file_alone(tmp_path):
    lines = [f"train/{c}/{i}.jpg {c}" for c, n in enumerate([150, 40, 5]) for i in range(n)]
    (tmp_path / "train.txt").write_text("\n".join(lines) + "\n")
    plot = tmp_path / "counts.png"
    code, out, err = run_cli(["-m", "keras_auxlt.commands.stats", f"--list_file={tmp_path / 'train.txt'}", f"--plot={plot}"])
    assert code == 0, err[-2000:]
    stats = json.loads(out.strip().splitlines()[-1])
    assert stats["num_classes"] == 3 and stats["num_images"] == 195
    assert stats["max_count"] == 150 and stats["min_count"] == 5 and stats["imbalance_ratio"] == 30.0
    assert stats["shot_groups"] == {"many": 1, "medium": 1, "few": 1}
    assert "many / medium / few classes  1 / 1 / 1" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_stats_reports_a_malformed_list_line(tmp_path):
    (tmp_path / "train.txt").write_text("a.jpg 0\nb.jpg zero\n")
    code, _, err = run_cli(["-m", "keras_auxlt.commands.stats", f"--list_file={tmp_path / 'train.txt'}"])
    assert code != 0 and "train.txt:2: label 'zero' is not an integer" in err


@pytest.mark.large
def test_stats_on_the_shared_cifar10_archive(shared_cifar10, tmp_path):
    code, out, err = run_cli(["-m", "keras_auxlt.commands.stats", "--dataset=cifar10", f"--data_dir={shared_cifar10}",
                              "--imbalance_ratio=100", f"--plot={tmp_path / 'c.png'}"])
    assert code == 0, err[-2000:]
    stats = json.loads(out.strip().splitlines()[-1])
    assert (stats["num_classes"], stats["num_images"], stats["max_count"], stats["min_count"]) == (10, 12406, 5000, 50)
    assert stats["shot_groups"] == {"many": 8, "medium": 2, "few": 0}


@pytest.mark.large
def test_smoke_flagfile_trains_on_shared_cifar10_and_evaluate_and_export_follow(shared_cifar10, tmp_path):
    """The README's path on the AuxLT recipe (mixup on both streams) at smoke size: train, evaluate, export."""
    model_dir = tmp_path / "smoke"
    code, out, err = run_cli(["train.py", "--flagfile=flags/cifar10_lt_smoke.cfg", f"--data_dir={shared_cifar10}",
                              f"--model_dir={model_dir}"], timeout=900)
    assert code == 0, (out + err)[-3000:]
    assert "[train] schedule   1 epoch of 382 steps = 382 steps" in out  # 12,206 images: 200 left for validation
    assert "; mixup (alpha 0.5) on the balanced and random streams" in out
    assert out.rstrip().endswith(f"[train] to export this run for TF Serving and ONNX: python -m export "
                                 f"--model_dir={model_dir} --export_base=exports --model_name=smoke")
    if not has_gpu_device_node():
        assert CUDA_PROBE_NOISE not in err  # TensorFlow's probe of an absent GPU is not shown as an error
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert metrics["steps"] == 382 and metrics["images_seen"] == 382 * 64
    assert metrics["inference_statistics"]["requested"] == "auto" and metrics["checkpoint"] == "best.keras"
    assert metrics["overall"] > 0.2, "one epoch of AuxLT must learn well above chance (0.1)"
    code, out, err = run_cli(["evaluate.py", f"--model_dir={model_dir}", f"--output_dir={tmp_path / 'eval'}"])
    assert code == 0, err[-3000:]
    again = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert again["overall"] == metrics["overall"] and again["per_class"] == metrics["per_class"]
    code, out, err = run_cli(["-m", "export", f"--model_dir={model_dir}", f"--export_base={tmp_path / 'exports'}",
                              "--model_name=smoke", "--verify_images=16"], timeout=900)
    assert code == 0, (out + err)[-3000:]
    assert (tmp_path / "exports" / "smoke" / "1" / "saved_model.pb").is_file()
    assert (tmp_path / "exports" / "smoke-1.onnx").is_file()


@pytest.mark.large
def test_the_tiny_imagenet_lt_recipe_trains_through_list_files_inside_the_archive(shared_tiny_imagenet_lt, tmp_path):
    """flags/tiny_imagenet_lt.cfg as a user runs it (--data_dir=the archive, the list files found inside it), cut to
    two training images and one validation and test image of each of its 200 classes by list files of our own (the
    images stay the archive's): 64x64 JPEGs, some greyscale, through resnet32_s2; ECE and NLL in metrics.json."""
    from keras_auxlt.data import archive

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUXLT_CACHE", str(tmp_path / "cache"))
        root = archive.extracted_archive(shared_tiny_imagenet_lt)
    root = str(next(p for p in pathlib.Path(root).iterdir() if p.is_dir()))  # the archive's one top folder
    for split, keep in (("train", 2), ("val", 1), ("test", 1)):
        kept, seen = [], {}
        for line in open(f"{root}/TinyImageNet_LT_{split}.txt").read().splitlines():
            label = line.rsplit(None, 1)[1]
            if seen.get(label, 0) < keep:
                seen[label] = seen.get(label, 0) + 1
                kept.append(line)
        (tmp_path / f"{split}.txt").write_text("\n".join(kept) + "\n")
    model_dir = tmp_path / "tiny"
    env = {**repo_env(), "AUXLT_CACHE": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "train.py", "--flagfile=flags/tiny_imagenet_lt.cfg",
                          f"--data_dir={shared_tiny_imagenet_lt}", f"--train_list={tmp_path / 'train.txt'}",
                          f"--val_list={tmp_path / 'val.txt'}", f"--test_list={tmp_path / 'test.txt'}",
                          "--batch_size=50", "--epochs=1", "--warmup_epochs=0", "--lr_milestones=", "--lr_factors=",
                          "--inference_statistics=as_trained", f"--model_dir={model_dir}"],
                         cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    assert "[train] schedule   1 epoch of 8 steps = 8 steps" in out.stdout, out.stdout[-3000:]
    config = json.loads((model_dir / "config.json").read_text())
    assert config["model"]["backbone"] == "resnet32_s2" and config["pipeline"]["image_size"] == 64
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert metrics["num_test_images"] == 200 and len(metrics["class_names"]) == 200
    assert metrics["class_names"][0] == "n01443537" and 0 < metrics["ece"] < 1 and metrics["nll"] > 0


def test_evaluate_refuses_a_checkpoint_that_loads_as_another_network(trained_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    without_strided_padding(str(run / "checkpoints" / "last.keras"))  # now loads with the legacy padding
    code, out, err = run_cli(["evaluate.py", f"--model_dir={run}", f"--output_dir={tmp_path / 'eval'}"])
    assert code == 1
    assert "error: last.keras does not predict what it predicted when training ended" in err
    assert not (tmp_path / "eval").exists()


def test_multi_worker_without_tf_config_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    code, _, err = run_cli(["train.py", "--flagfile=flags/cifar10_lt_smoke.cfg", f"--model_dir={tmp_path / 'run'}",
                            "--strategy=multi_worker"])
    assert code == 1
    assert "--strategy=multi_worker needs the TF_CONFIG environment variable" in err
    assert not (tmp_path / "run").exists()



@pytest.mark.large
def test_sigterm_stops_train_py_after_a_checkpoint_with_status_143(tmp_path):
    write_image_folder(tmp_path / "images", per_class=[12, 6, 3], size=16)
    command = [sys.executable, "-u", "train.py", f"--data_dir={tmp_path / 'images'}", "--imbalance_ratio=1",
               "--method=ce", "--backbone=resnet20", "--image_size=16", "--batch_size=8", "--epochs=1000",
               "--warmup_epochs=0", "--lr_milestones=", "--lr_factors=", "--validate_images=false", "--verbose=0",
               f"--model_dir={tmp_path / 'run'}"]
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=repo_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        for line in process.stdout:  # training is under way once an epoch is reported
            lines.append(line)
            if line.startswith("[train] epoch 1 of 1000"):
                process.send_signal(signal.SIGTERM)
                break
        lines += process.stdout.readlines()
        code = process.wait(timeout=300)
    finally:
        process.kill()
    out = "".join(lines)
    assert code == 143, out[-3000:]
    assert "[train] SIGTERM: stopping after this step, with a checkpoint" in out
    assert "training stopped by SIGTERM at step" in out and "rerun the same command to resume" in out
    state = json.loads((tmp_path / "run" / "checkpoints" / "state.json").read_text())
    assert 3 <= state["step"] < 3000 and not (tmp_path / "run" / "metrics.json").exists()


@pytest.mark.skipif(has_gpu_device_node(), reason="a machine with a GPU device node has nothing to hide")
def test_cuda_probe_line_is_hidden_when_tensorflow_loads_under_absl_app_run():
    """Under absl's app.run, TensorFlow probes CUDA as it is imported (not when devices are listed): a command
    that calls initialize_devices before anything imports TensorFlow shows neither probe line, and keeps the rest."""
    program = ("import sys\nfrom absl import app\n"
               "def main(argv):\n"
               "    from keras_auxlt.runtime import initialize_devices\n"
               "    devices = initialize_devices()\n"
               "    print('devices', [d.device_type for d in devices], flush=True)\n"
               "app.run(main)\n")
    env = {**repo_env(), "TF_CPP_MIN_LOG_LEVEL": "0"}  # TensorFlow's other start-up lines pass through
    out = subprocess.run([sys.executable, "-c", program], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "devices ['CPU']" in out.stdout
    assert CUDA_PROBE_NOISE not in out.stderr
    assert "oneDNN custom operations" in out.stderr  # what the capture replays


@pytest.mark.large
def test_a_second_stage_trains_its_unfinished_first_stage_first_with_the_commands_data_and_seed(tmp_path):
    """`--stage_one_flagfile`: one train.py command trains the --init_from run from its recipe, with this command's
    data flags and seed over the recipe's, then the cRT stage on it."""
    write_image_folder(tmp_path / "images", per_class=[12, 6, 3], size=16)
    tiny = ["--backbone=resnet20", "--image_size=16", "--batch_size=8", "--epochs=1", "--warmup_epochs=0",
            "--lr_milestones=", "--lr_factors=", "--validate_images=false", "--verbose=0"]
    (tmp_path / "stage_one.cfg").write_text("\n".join([*tiny, "--method=ce", "--seed=5", "--data_dir=/nowhere"]) + "\n")
    command = ["train.py", *tiny, "--method=crt", f"--data_dir={tmp_path / 'images'}", "--imbalance_ratio=1", "--seed=3",
               f"--init_from={tmp_path / 'ce'}", f"--stage_one_flagfile={tmp_path / 'stage_one.cfg'}",
               f"--model_dir={tmp_path / 'crt'}"]
    code, out, err = run_cli(command, timeout=900)
    assert code == 0, (out + err)[-3000:]
    assert f"[train] stage one: {tmp_path / 'ce'} has not finished: training it first with -m keras_auxlt.commands.train" in out
    assert f"[train] stage one finished: {tmp_path / 'ce'}; now stage two" in out
    first = json.loads((tmp_path / "ce" / "config.json").read_text())
    assert first["method"] == "ce" and first["seed"] == 3 and first["data"]["data_dir"] == str(tmp_path / "images")
    assert (tmp_path / "ce" / "metrics.json").is_file() and (tmp_path / "crt" / "metrics.json").is_file()
    assert json.loads((tmp_path / "crt" / "config.json").read_text())["init_from"] == str(tmp_path / "ce")
