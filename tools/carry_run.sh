#!/usr/bin/env bash
# Pack an unfinished train.py run directory into a .tar.gz that resumes on another machine, while the run
# goes on: the copy is taken when no checkpoint has been written for QUIET seconds and is kept only if no
# checkpoint was written while it was taken, so last.keras, best.keras and state.json belong together.
#
#   tools/carry_run.sh <base>/<method>/seed<k> .carry/<method>_seed<k>.tar.gz
#
# The archive holds <method>/seed<k>/...: unpack it with `tar -xzf FILE -C <base>` (see .carry/README.md).
# Waits at most TIMEOUT seconds (default 900) for a quiet moment.
set -euo pipefail
if [[ $# -ne 2 ]]; then
  echo "usage: $0 <run dir: base/method/seedK> <archive.tar.gz>" >&2
  exit 2
fi
run_dir="$(cd "$1" && pwd)"
archive="$(realpath -m "$2")"
quiet="${QUIET:-10}"
timeout="${TIMEOUT:-900}"
checkpoints="$run_dir/checkpoints"
if [[ ! -f "$checkpoints/last.keras" || ! -f "$run_dir/config.json" ]]; then
  echo "$0: $run_dir has no checkpoints/last.keras and config.json: not a train.py run that saved an epoch" >&2
  exit 1
fi
member="$(basename "$(dirname "$run_dir")")/$(basename "$run_dir")"

newest_write() {  # seconds since the epoch of the newest checkpoint file (temporaries included)
  find "$checkpoints" -maxdepth 1 -type f -printf '%T@\n' | sort -n | tail -1 | cut -d. -f1
}

staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT
deadline=$(( $(date +%s) + timeout ))
while :; do
  before="$(newest_write)"
  if (( $(date +%s) - before >= quiet )) && ! compgen -G "$checkpoints/*.tmp*" > /dev/null; then
    rm -rf "${staging:?}/${member%%/*}"
    mkdir -p "$staging/$(dirname "$member")"
    cp -a "$run_dir" "$staging/$member"
    if [[ "$(newest_write)" == "$before" ]]; then
      break
    fi
  fi
  if (( $(date +%s) > deadline )); then
    echo "$0: no quiet moment of ${quiet}s in the checkpoints of $run_dir within ${timeout}s" >&2
    exit 1
  fi
  sleep 2
done
mkdir -p "$(dirname "$archive")"
tar -czf "$archive.tmp" -C "$staging" "$member"
mv "$archive.tmp" "$archive"
state="$(tr -d '\n ' < "$staging/$member/checkpoints/state.json" | grep -o '"step":[0-9]*' | head -1 | cut -d: -f2 || true)"
echo "$archive: $member at step ${state:-?} ($(du -h "$archive" | cut -f1))"
