"""Runs record which code made them (keras_auxlt/provenance.py): the version, and the commit of our own checkout."""

import shutil
import subprocess
import sys

import keras_auxlt
from keras_auxlt.provenance import code_version
from tests.conftest import REPO_ROOT


def git(*args, cwd=REPO_ROOT):
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def test_a_checkout_records_its_commit_and_whether_tracked_files_changed():
    code = code_version()
    assert code["version"] == keras_auxlt.__version__
    assert code["git_commit"] == git("rev-parse", "HEAD")
    assert code["git_dirty"] == bool(git("status", "--porcelain", "--untracked-files=no"))


def test_a_copy_inside_another_repository_records_the_version_alone(tmp_path):
    """As an installed package under a virtual environment that lives in some git repository would."""
    git("init", "-q", str(tmp_path), cwd=tmp_path)
    package = tmp_path / "site" / "keras_auxlt"
    package.mkdir(parents=True)
    for name in ("__init__.py", "provenance.py"):
        shutil.copy(REPO_ROOT / "keras_auxlt" / name, package / name)
    done = subprocess.run([sys.executable, "-c", "from keras_auxlt.provenance import code_version; "
                           "print(code_version())"], cwd=tmp_path, env={"PYTHONPATH": str(tmp_path / "site")},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str({"version": keras_auxlt.__version__, "git_commit": None, "git_dirty": None})
