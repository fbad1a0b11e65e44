"""Image-folder archives (.tar, .tar.gz, .tgz) used in place of a directory.

An archive is extracted once into a cache directory keyed by its SHA-256, through a
temporary directory renamed into place, so an interrupted extraction never leaves a
half-filled cache entry and every later run reuses the same files.
"""

import hashlib
import os
import shutil
import tarfile
import tempfile

from tqdm.auto import tqdm

from keras_auxlt.data.errors import DataError

ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz")
_CHUNK = 1 << 20


def is_archive(path):
    return os.path.isfile(path) and str(path).endswith(ARCHIVE_SUFFIXES)


def cache_root():
    """Where extracted archives live: $AUXLT_CACHE, else ~/.cache/keras-auxlt."""
    default = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "keras-auxlt")
    return os.environ.get("AUXLT_CACHE", default)


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def extracted_archive(path):
    """Directory holding the archive's contents, extracting it on first use."""
    try:
        key = sha256_of(path)[:16]
    except OSError as e:
        raise DataError(f"Cannot read archive {path}: {e}") from e
    target = os.path.join(cache_root(), "extracted", key)
    if os.path.isdir(target):
        return target
    os.makedirs(os.path.dirname(target), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{key}-", dir=os.path.dirname(target))
    try:
        with tarfile.open(path) as tar:
            for member in tqdm(tar, desc=f"extracting {os.path.basename(path)}", unit=" files", mininterval=1.0):
                if member.isfile() or member.isdir():
                    tar.extract(member, tmp, filter="data")
        try:
            os.rename(tmp, target)
        except OSError:
            if not os.path.isdir(target):  # lost a race with another process: theirs is as good
                raise
    except (tarfile.TarError, EOFError, OSError) as e:
        raise DataError(f"Cannot extract archive {path}: {e}") from e
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
