"""TF Serving's directory layout <export_base>/<model_name>/<version>/ and atomic publication.

TF Serving loads the highest integer-named directory under a model's base path. A version is
written into a hidden staging directory next to it and renamed into place only when complete,
so a crash or a failed check never leaves a partial version that a server could pick up.
"""

import contextlib
import os
import shutil
import tempfile

from keras_auxlt.export.errors import ExportError


def existing_versions(base_path):
    """Integer version directories under base_path, ascending."""
    if not os.path.isdir(base_path):
        return []
    return sorted(int(name) for name in os.listdir(base_path)
                  if name.isdigit() and os.path.isdir(os.path.join(base_path, name)))


def choose_version(base_path, requested=0):
    """`requested` if given (> 0) and free, else one past the highest existing version (1 for none)."""
    if requested < 0:
        raise ExportError(f"--version must be a positive integer (0 = next free). Received: {requested}")
    if requested:
        if os.path.exists(os.path.join(base_path, str(requested))):
            raise ExportError(f"version {requested} exists already at {os.path.join(base_path, str(requested))}; "
                              "versions are never overwritten (omit --version to take the next one)")
        return requested
    versions = existing_versions(base_path)
    return versions[-1] + 1 if versions else 1


def check_writable(directory, flag="--export_base"):
    """Create `directory` and prove it writable, before any work."""
    try:
        os.makedirs(directory, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".write_test"):
            pass
    except OSError as e:
        raise ExportError(f"{flag} {directory!r} is not writable: {e}") from e


@contextlib.contextmanager
def staging_dir(base_path, version):
    """A hidden temporary directory beside the version directory; removed unless published."""
    os.makedirs(base_path, exist_ok=True)
    staging = tempfile.mkdtemp(dir=base_path, prefix=f".staging-{version}-")
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def publish(staging, destination):
    """Rename a finished staging file or directory into place; refuses to replace anything."""
    if os.path.exists(destination):
        raise ExportError(f"{destination} appeared while exporting; not overwriting it")
    os.rename(staging, destination)
