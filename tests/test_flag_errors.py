"""Flag errors name the flagfile line that caused them (keras_auxlt/flag_errors.py), through the real commands."""

import subprocess
import sys

from absl import flags

from keras_auxlt.flag_errors import flagfile_line, offending_argument
from tests.conftest import REPO_ROOT, repo_env


def write(path, *lines):
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_the_first_line_giving_the_argument_is_found_through_nested_flagfiles(tmp_path):
    inner = write(tmp_path / "inner.cfg", "# the schedule", "--epochs=2", "  -learnin_rate=0.1  ")
    outer = write(tmp_path / "outer.cfg", "--batch_size=8", f"--flagfile={inner}", "--learnin_rate=0.1")
    assert flagfile_line(["train.py", f"--flagfile={outer}"], "--learnin_rate=0.1") == (inner, 3)
    assert flagfile_line(["train.py", "--flagfile", outer], "--batch_size=8") == (outer, 1)
    # Given on the command line before the flagfile is read: nothing to point at.
    assert flagfile_line(["train.py", "--learnin_rate=0.1", f"--flagfile={outer}"], "--learnin_rate=0.1") is None
    assert flagfile_line(["train.py", f"--flagfile={outer}"], "--momentum=0.5") is None
    cycle = write(tmp_path / "cycle.cfg", f"--flagfile={tmp_path / 'cycle.cfg'}")
    assert flagfile_line(["train.py", f"--flagfile={cycle}"], "--epochs=2") is None


def test_the_argument_is_read_off_absl_errors():
    unknown = flags.UnrecognizedFlagError("learnin_rate", "--learnin_rate=0.1")
    assert offending_argument(unknown) == "--learnin_rate=0.1"
    illegal = flags.IllegalFlagValueError("flag --epochs=abc: invalid literal for int() with base 10: 'abc'")
    assert offending_argument(illegal) == "--epochs=abc"
    assert offending_argument(flags.IllegalFlagValueError("something else")) is None


def test_train_py_names_the_flagfile_line_of_an_unknown_flag_and_of_a_bad_value(tmp_path):
    recipe = write(tmp_path / "recipe.cfg", "--flagfile=flags/cifar10_lt_smoke.cfg", "--epochs=2", "--learnin_rate=0.1")
    bad_value = write(tmp_path / "bad_value.cfg", "--flagfile=flags/cifar10_lt_smoke.cfg", "--epochs=two")
    for flagfile, message, line in [(recipe, "Unknown command line flag 'learnin_rate'. Did you mean: learning_rate ?", 3),
                                    (bad_value, "flag --epochs=two: invalid literal for int()", 2)]:
        out = subprocess.run([sys.executable, "train.py", f"--flagfile={flagfile}", f"--model_dir={tmp_path / 'run'}"],
                             cwd=REPO_ROOT, env=repo_env(), capture_output=True, text=True, timeout=300)
        assert out.returncode == 1
        assert f"FATAL Flags parsing error: {message}" in out.stderr, out.stderr[-2000:]
        assert f"\n  at {flagfile}:{line}\n" in out.stderr
    assert not (tmp_path / "run").exists()
