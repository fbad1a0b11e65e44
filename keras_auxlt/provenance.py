"""Which code produced a run: recorded in its config.json (training) and metrics.json (evaluation).

The package version, and when the package runs from a git checkout of its own, the commit and whether
tracked files had uncommitted changes (then the commit alone does not reproduce the run). An installed
package, or git missing, records the version alone (commit and dirty null)."""

import functools
import os
import subprocess

from keras_auxlt import __version__

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the checkout holding keras_auxlt/


@functools.cache
def code_version():
    """{"version": "x.y.z", "git_commit": sha or None, "git_dirty": bool or None}."""
    info = {"version": __version__, "git_commit": None, "git_dirty": None}
    top = _git("rev-parse", "--show-toplevel")
    if top is None or os.path.realpath(top) != os.path.realpath(PACKAGE_ROOT):  # not ours (e.g. site-packages)
        return info
    commit, status = _git("rev-parse", "HEAD"), _git("status", "--porcelain", "--untracked-files=no")
    if commit is not None and status is not None:
        info.update(git_commit=commit, git_dirty=bool(status))
    return info


def _git(*args):
    try:
        done = subprocess.run(["git", "-C", PACKAGE_ROOT, *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None
