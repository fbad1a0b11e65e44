"""`pip install .`: the wheel holds the keras_auxlt package and its console commands, and nothing else
(no top-level `export` or `serving` in site-packages); installed apart from the repository it imports
and its commands run the same mains as the scripts."""

import os
import subprocess
import sys
import zipfile

import pytest

import keras_auxlt
from tests.conftest import REPO_ROOT, write_image_folder

COMMANDS = {"auxlt-train": "keras_auxlt.commands.train:console",
            "auxlt-evaluate": "keras_auxlt.commands.evaluate:console",
            "auxlt-export": "keras_auxlt.commands.export:console",
            "auxlt-serve": "keras_auxlt.commands.serve:console",
            "auxlt-client": "keras_auxlt.commands.client:console",
            "auxlt-stats": "keras_auxlt.commands.stats:console"}


def pip(*args, cwd):
    done = subprocess.run([sys.executable, "-m", "pip", *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]


@pytest.mark.large
def test_the_wheel_installs_keras_auxlt_and_its_commands_only(tmp_path):
    source = tmp_path / "source"  # a copy: building writes build/ and *.egg-info into the source tree
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO_ROOT, capture_output=True,
                            text=True, check=True).stdout.split()
    for name in listed:
        if os.path.isfile(REPO_ROOT / name):
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            (source / name).write_bytes((REPO_ROOT / name).read_bytes())
    pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"), str(source), cwd=tmp_path)
    wheel, = (tmp_path / "dist").glob("keras_auxlt-*.whl")
    assert wheel.name.startswith(f"keras_auxlt-{keras_auxlt.__version__}-")  # pyproject.toml reads the version
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
        assert "keras_auxlt/recipes/cifar10_lt.cfg" in archive.namelist()  # the recipes install with the package
        entry_points = archive.read(next(n for n in archive.namelist() if n.endswith("entry_points.txt"))).decode()
    assert {t for t in tops if not t.endswith(".dist-info")} == {"keras_auxlt"}
    for command, target in COMMANDS.items():
        assert f"{command} = {target}" in entry_points

    target = tmp_path / "site"
    pip("install", "--no-deps", "--target", str(target), str(wheel), cwd=tmp_path)
    env = {**os.environ, "PYTHONPATH": str(target)}
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    imported = subprocess.run([sys.executable, "-c", "import keras_auxlt.export.exporter, keras_auxlt.commands.serve, "
                               "keras_auxlt.commands.train as t; print(t.__file__)"], cwd=outside, env=env,
                              capture_output=True, text=True, timeout=300)
    assert imported.returncode == 0, imported.stderr[-3000:]
    assert imported.stdout.strip().startswith(str(target))
    helped = subprocess.run([str(target / "bin" / "auxlt-train"), "--help"], cwd=outside, env=env,
                            capture_output=True, text=True, timeout=300)
    assert helped.returncode == 0, (helped.stdout + helped.stderr)[-2000:]
    for flag in ("--method", "--recipe", "--data_dir", "--epochs"):
        assert f"  {flag}  (default: " in helped.stdout
    assert "--verbosity" not in helped.stdout and "--xla_" not in helped.stdout  # absl's and TensorFlow's
    listed = subprocess.run([str(target / "bin" / "auxlt-train"), "--list_recipes"], cwd=outside, env=env,
                            capture_output=True, text=True, timeout=300)
    assert "  cifar10_lt_smoke  " in listed.stdout.replace("   ", "  ")
    # The smoke recipe by name, from outside the repository (on a tiny image folder: its data flags overridden).
    data = write_image_folder(outside / "images", per_class=[20, 10, 6], size=32)
    trained = subprocess.run([str(target / "bin" / "auxlt-train"), "--recipe=cifar10_lt_smoke", f"--data_dir={data}",
                              "--imbalance_ratio=1", "--val_per_class=2", "--batch_size=4",
                              "--inference_statistics_steps=2", "--verbose=0"], cwd=outside, env=env,
                             capture_output=True, text=True, timeout=600)
    assert trained.returncode == 0, (trained.stdout + trained.stderr)[-3000:]
    assert (outside / "runs" / "cifar10_lt_smoke" / "metrics.json").is_file()
    assert "resnet20" in trained.stdout  # the recipe's backbone, from the installed recipe file
    assert trained.stdout.rstrip().endswith("[train] to export this run for TF Serving and ONNX: auxlt-export "
                                            "--model_dir=runs/cifar10_lt_smoke --export_base=exports "
                                            "--model_name=cifar10_lt_smoke")  # the installed command's name
    # A command end to end, from outside the repository: label statistics of a list file.
    (outside / "train.txt").write_text("".join(f"train/{c}/{i}.jpg {c}\n" for c, n in enumerate([150, 40, 5])
                                               for i in range(n)))
    stats = subprocess.run([str(target / "bin" / "auxlt-stats"), "--list_file=train.txt",
                            f"--plot={outside / 'counts.png'}"], cwd=outside, env=env, capture_output=True, text=True,
                           timeout=300)
    assert stats.returncode == 0, stats.stderr[-2000:]
    assert "many / medium / few classes  1 / 1 / 1" in stats.stdout
