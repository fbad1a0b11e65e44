"""Every command's --help lists its own flags, grouped, with defaults, and no TensorFlow or absl flag; named
recipes expand from the installed recipe directory, nested recipes included."""

import json
import subprocess
import sys

import pytest

from keras_auxlt.commands import recipes
from tests import train_flags
from tests.conftest import REPO_ROOT, repo_env

COMMANDS = {  # module -> flags its --help must list
    "keras_auxlt.commands.train": ("--method", "--recipe", "--data_dir", "--epochs", "--model_dir"),
    "keras_auxlt.commands.evaluate": ("--model_dir", "--checkpoint", "--data_dir", "--output_dir"),
    "keras_auxlt.commands.stats": ("--train_list", "--plot", "--split"),
    "keras_auxlt.commands.export": ("--model_dir", "--export_base", "--model_name", "--onnx"),
    "keras_auxlt.commands.serve": ("--model_base_path", "--rest_port", "--max_image_pixels"),
    "keras_auxlt.commands.client": ("--server", "--model", "--grpc"),
}
LIBRARY_FLAGS = ("--logtostderr", "--verbosity", "--only_check_args", "--pdb", "--run_with_profiling")


def help_of(module, *args, cwd=REPO_ROOT):
    done = subprocess.run([sys.executable, "-m", module, "--help", *args], cwd=cwd, env=repo_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (done.stdout + done.stderr)[-2000:]
    return done.stdout


@pytest.mark.large
@pytest.mark.parametrize("module", COMMANDS)
def test_help_lists_the_commands_own_flags_with_defaults_and_no_library_flag(module, tmp_path):
    text = help_of(module, cwd=tmp_path)
    for flag in COMMANDS[module]:
        assert f"  {flag}  (default: " in text, flag
    for flag in LIBRARY_FLAGS:
        assert f"{flag} " not in text and f"{flag}\n" not in text
    assert "--helpfull" in text and "usage:" in text


@pytest.mark.parametrize("module", COMMANDS)
def test_the_commands_define_their_flags_without_loading_tensorflow(module):
    """--help, a misspelt flag or a bad value is answered before TensorFlow (seconds on a CPU) loads: the flag
    modules and the configs they take defaults from are plain Python (keras_auxlt/data/config.py)."""
    done = subprocess.run([sys.executable, "-c", f"import sys, {module}; print(sorted(name for name in "
                           "('tensorflow', 'keras', 'onnx', 'tf2onnx', 'onnxruntime') if name in sys.modules))"],
                          cwd=REPO_ROOT, env=repo_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


@pytest.mark.large
def test_train_help_groups_every_flag_and_lists_them_in_order():
    text = help_of("keras_auxlt.commands.train")
    titles = [line[:-1] for line in text.splitlines() if line.endswith(":") and not line.startswith(" ")]
    assert titles == ["recipe", "data", "model", "training", "evaluation", "output"]  # no "other": all placed


GROUPED = """
import json
from keras_auxlt.commands import launch, train
print(json.dumps(sorted(launch.own_flags())))
"""


@pytest.mark.large
def test_every_train_flag_is_in_exactly_one_group():
    from keras_auxlt import flags as auxlt_flags

    groups = [name for names in auxlt_flags.TRAIN_FLAG_GROUPS.values() for name in names]
    assert len(groups) == len(set(groups))
    done = subprocess.run([sys.executable, "-c", GROUPED], cwd=REPO_ROOT, env=repo_env(), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(groups) == json.loads(done.stdout.strip().splitlines()[-1])


def test_recipes_are_listed_with_one_line_each_and_expand_nested_ones():
    assert {"cifar10_lt", "cifar10_lt_smoke", "cifar10_lt_short", "imagenet_lt"} <= set(recipes.names())
    assert all(recipes.description(name) and "\n" not in recipes.description(name) for name in recipes.names())
    short = recipes.expand("cifar10_lt_short")
    assert "--method=auxlt" in short and short.index("--epochs=200") < short.index("--epochs=30")  # base, then its own
    assert not any(arg.startswith("--flagfile=") for arg in short)
    argv = recipes.expand_argv(["train.py", "--recipe", "cifar10_lt_short", "--epochs=2"])
    assert argv[0] == "train.py" and argv[-1] == "--epochs=2" and argv[1:-1] == short
    with pytest.raises(recipes.RecipeError, match="no recipe named 'nope'. Known recipes: cifar100_lt, "):
        recipes.expand_argv(["train.py", "--recipe=nope"])
    with pytest.raises(recipes.RecipeError, match="no recipe named"):
        recipes.path_of("../README")


def test_stage_one_takes_the_data_seed_and_devices_of_the_command_and_the_rest_from_its_recipe(tmp_path):
    """The first stage's command: its recipe, then the second stage's resolved data, seed and device flags (both
    stages must read the same images), then --model_dir = --init_from. A recipe path missing here is taken from
    the installed recipes by name; an unknown one is refused, naming the flag."""
    second = ["--flagfile=flags/cifar10_lt_crt_mixup.cfg", "--data_dir=/data/c10.tar.gz", "--seed=3",
              "--imbalance_ratio=50", "--init_from=/runs/one"]
    argvs = {"clone": second, "installed": [*second, "--stage_one_flagfile=elsewhere/cifar10_lt_mislas.cfg"],
             "unknown": [*second, "--stage_one_flagfile=elsewhere/mislas_v2.cfg"]}
    commands = {name: result["stage_one"] or result["error"] for name, result in train_flags.resolve(argvs).items()}
    clone = commands["clone"]
    assert clone[:3] == ["-m", "keras_auxlt.commands.train", "--flagfile=flags/cifar10_lt_mislas.cfg"]
    assert clone[-1] == "--model_dir=/runs/one"
    for flag in ("--data_dir=/data/c10.tar.gz", "--seed=3", "--imbalance_ratio=50.0", "--val_per_class=200",
                 "--image_size=32", "--strategy=auto", "--mixed_precision=off"):
        assert flag in clone
    assert not any(arg.startswith(("--method", "--epochs", "--mixup", "--lr_", "--label_aware")) for arg in clone)
    assert commands["installed"][2] == "--recipe=cifar10_lt_mislas" and commands["installed"][3:] == clone[3:]
    assert commands["unknown"].startswith("--stage_one_flagfile: no file 'elsewhere/mislas_v2.cfg', and no installed "
                                          "recipe named 'mislas_v2' (known: cifar100_lt, ")
