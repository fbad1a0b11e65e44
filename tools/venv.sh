#!/usr/bin/env bash
# Create (once) and print the path of the virtual environment for requirements.txt.
#
# The environment lives in a cache keyed on the hash of requirements.txt, so every
# checkout with the same pins (CI runs, fresh clones, later sessions) reuses it and a
# change of pins builds a new one. A half-built environment (interrupted install) has
# no `.complete` marker and is rebuilt from scratch.
#
#   AUXLT_VENV_CACHE   cache directory (default: $XDG_CACHE_HOME/keras-auxlt or ~/.cache/keras-auxlt)
#   AUXLT_PYTHON       interpreter to build the environment from (default: python3.11, else python3)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
requirements="$repo_root/requirements.txt"
cache="${AUXLT_VENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/keras-auxlt}"
key="$(sha256sum "$requirements" | cut -c1-16)"
venv="$cache/venv-$key"

if [[ ! -f "$venv/.complete" ]]; then
  python="${AUXLT_PYTHON:-$(command -v python3.11 || command -v python3)}"
  echo "[venv] building $venv from requirements.txt (one-off, ~3.4 GB)" >&2
  rm -rf "$venv"
  mkdir -p "$cache"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip >&2
  # (the grep drops pip's notes about this machine's local package mirrors; pip's own status decides)
  "$venv/bin/python" -m pip install --quiet -r "$requirements" 2>&1 | { grep -v "^WARNING: Location" || true; } >&2
  "$venv/bin/python" -c "import tensorflow, keras, tensorflow_datasets, tf2onnx, onnxruntime, pytest" >&2
  touch "$venv/.complete"
  echo "[venv] ready" >&2
fi
echo "$venv"
