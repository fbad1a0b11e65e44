#!/usr/bin/env bash
# Issue 38's queue of 200-epoch runs, one job at a time, each resumed where it stopped (train.py resumes
# step-exact and skips what has finished). On a machine without them it first unpacks the runs carried here
# (a run directory already present is left alone), takes the files of the runs kept on the results page, and makes
# the worktrees of the commits the runs started with.
#
#   setsid nohup bash .carry/resume_queue.sh > ~/auxlt/queue.log 2>&1 < /dev/null &
#
# Runs and logs go under $AUXLT_HOME (default ~/auxlt): png200/runs (seed0.log, seed0_part2.log) and
# short/runs (ldam_drw.log, bbn.log); then seed1.log and search.log. DRY_RUN=1 prints the commands instead of running them.
set -euo pipefail
# oneDNN's kernels also where TensorFlow leaves them off (AVX2-only AMD CPUs: 2.3x faster steps; docs/performance.md);
# the snapshots' ./run, older than that default, pass this on.
export TF_ENABLE_ONEDNN_OPTS="${TF_ENABLE_ONEDNN_OPTS:-1}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
home="${AUXLT_HOME:-$HOME/auxlt}"
data="$(cd "$repo/../shared/data/cifar10" && pwd)"
runs="$home/png200/runs"
mkdir -p "$runs" "$home/short/runs"
# One training job on the CPU at a time: a second queue started beside this one stops here.
exec 9> "$home/queue.lock"
if ! flock --nonblock 9; then
  echo "[queue] another queue is running (it holds $home/queue.lock): not starting a second one" >&2
  exit 1
fi

for archive in "$repo"/.carry/png200-*_seed*.tar.gz; do
  [[ -e "$archive" ]] || continue
  name="$(basename "$archive" .tar.gz)"
  name="${name#png200-}"
  if [[ ! -d "$runs/${name%_seed*}/seed${name##*_seed}" ]]; then
    echo "[queue] unpacking $archive into $runs"
    tar -xzf "$archive" -C "$runs"
  fi
done

# A run finished and kept in the repository (a row's under docs/results/200_epoch/png, a 30-epoch check's under
# docs/results/30_epoch/jpeg, a search's beside its note under docs/results/experiments) but absent here (a new
# machine) gets its kept files, so that the benchmark finds it done instead of training it again (its checkpoints
# stay behind). A kept run is one of this queue's when it trained into <...>/png200/runs/<method>/seed<k> or
# <...>/short/runs/<method>/seed<k> (its config.json's model_dir).
for config in "$repo"/docs/results/*/*/*/seed*/config.json; do
  from="$(dirname "$config")"
  [[ -e "$from/metrics.json" ]] || continue
  model_dir="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get("model_dir", ""))' "$config")"
  case "$model_dir" in
    */png200/runs/*/seed*) place="png200/runs/${model_dir##*/png200/runs/}" ;;
    */short/runs/*/seed*) place="short/runs/${model_dir##*/short/runs/}" ;;
    *) continue ;;
  esac
  if [[ ! -d "$home/$place" ]]; then
    echo "[queue] ${place#*/runs/} finished and is kept: copying its files into $home/$place"
    mkdir -p "$home/$place"
    cp "$from/metrics.json" "$from/benchmark_timing.json" "$from/config.json" "$home/$place/"
  fi
done

snapshot() {  # the worktree of commit $1, made if missing
  local dir="$home/snap-$1"
  [[ -d "$dir" ]] || git -C "$repo" worktree add --detach "$dir" "$1" >&2
  echo "$dir"
}

benchmark() {  # commit, log file, then benchmarks.accuracy's flags
  local commit="$1" log="$2"
  shift 2
  local command=(./run python -m benchmarks.accuracy "$@" --metrics_dir= --readme=)
  # Code before 7b025f0 also writes a long-recipe section unless told not to; later code has no such flag.
  if git -C "$repo" grep -q -F '"long_recipe_runs"' "$commit" -- benchmarks/accuracy.py; then
    command+=(--long_recipe_runs=)
  fi
  if [[ -n "${DRY_RUN:-}" ]]; then
    echo "(cd $home/snap-$commit && ${command[*]}) >> $log"
    return
  fi
  echo "[queue] $(date -u +%H:%M) ${command[*]:4} (code $commit) >> $log"
  (cd "$(snapshot "$commit")" && "${command[@]}") >> "$log" 2>&1
}

png=(--flagfile_base=flags/cifar10_lt.cfg --seeds=0 --data_dir="$data/cifar10_png.tar.gz" --output_dir="$runs")
# The order of issue 38: ce, auxlt_mixup, crt (code of 4f07d46); the 30-epoch checks against the reference code's
# figures on the JPEG copy (ldam_drw: 66.3; bbn: 53.6, before its 200-epoch run); then crt_mixup, ldam_drw,
# logit_adjust, auxlt, bbn (code of f2aaddc).
benchmark 4f07d46 "$home/png200/seed0.log" "${png[@]}" --methods=ce,auxlt_mixup,crt \
  --results="$home/png200/RESULTS.md"
for check in ldam_drw bbn; do
  benchmark f2aaddc "$home/short/$check.log" --methods="$check" --seeds=0 --data_dir="$data/cifar10_jpg.tar.gz" \
    --output_dir="$home/short/runs" --results="$home/short/RESULTS_$check.md"
done
benchmark f2aaddc "$home/png200/seed0_part2.log" "${png[@]}" --methods=crt_mixup,ldam_drw,logit_adjust,auxlt,bbn \
  --results="$home/png200/RESULTS2.md"

# Then seed 1 of the two rows the verdict pairs, each highest on validation at seed 0 (benchmarks.verdict_seeds
# refuses to choose, and the queue stops, while a row's seed 0 is unfinished), with the code its seed 0 ran.
picked="$(cd "$repo" && ./run python -m benchmarks.verdict_seeds "$runs")"
echo "[queue] seed 1 of the rows the verdict pairs: $picked"
for method in $picked; do
  commit="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["derived"]["code"]["git_commit"][:7])' \
    "$runs/$method/seed0/config.json")"
  benchmark "$commit" "$home/png200/seed1.log" "${png[@]/#--seeds=0/--seeds=1}" --methods="$method" \
    --results="$home/png200/RESULTS_seed1.md"
done

# Then issue 38's search for an AuxLT recipe that leads, each step chosen on validation
# (docs/experiments/2026-12-06-lws-stage.md), with the code that defines its variants: seed 1 of auxlt_mixup_lws,
# the AuxLT candidate highest on validation at seed 0 (a 20-epoch stage on the seed-1 auxlt_mixup above), then
# seed 0 of AuxLT trained with MiSLAS's mixup (auxlt_mislas, about 5 hours) and of its LWS stage.
search=8c6f2b5
benchmark "$search" "$home/png200/search.log" "${png[@]/#--seeds=0/--seeds=1}" --methods=auxlt_mixup_lws \
  --results="$home/png200/RESULTS_search_seed1.md"
benchmark "$search" "$home/png200/search.log" "${png[@]}" --methods=auxlt_mislas,auxlt_mislas_lws \
  --results="$home/png200/RESULTS_search.md"
# auxlt_mislas was the highest on validation at seed 0 of every run so far (83.50;
# docs/experiments/2026-12-07-auxlt-mislas.md): the cRT stage on it too (20 epochs), then its seed 1, which the
# search's lead is paired by.
benchmark "$search" "$home/png200/search.log" "${png[@]}" --methods=auxlt_mislas_crt \
  --results="$home/png200/RESULTS_search.md"
benchmark "$search" "$home/png200/search.log" "${png[@]/#--seeds=0/--seeds=1}" --methods=auxlt_mislas \
  --results="$home/png200/RESULTS_search_seed1.md"

# Then (issues 55 and 52, code of 92c8e6b): the 30-epoch ldam_drw check on the JPEG copy with the cosine classifier
# started as the reference starts it (against the reference code's 66.3; the old port's run stays in short/runs),
# then Tiny-ImageNet-LT: the backbone screen, then its rows.
issue52=92c8e6b
benchmark "$issue52" "$home/short-ldam-init/ldam_drw.log" --methods=ldam_drw --seeds=0 \
  --data_dir="$data/cifar10_jpg.tar.gz" --output_dir="$home/short-ldam-init/runs" \
  --results="$home/short-ldam-init/RESULTS.md" --results_tree=
tiny_data="$(cd "$repo/../shared/data/tiny_imagenet_lt" && pwd)/tiny_imagenet_lt.tar.gz"
tiny=(--imbalance_ratio=1 --data_dir="$tiny_data" --results_tree=)
# The screen: AuxLT as published (the short schedule misranks mixup) for 30 epochs on each candidate backbone that
# fits issue 52's limits (benchmarks.backbone_steps: resnet56_s2's step costs 1.84x resnet32_s2's, over 8 hours at
# 200 epochs); the backbone highest on validation trains the rows (a tie: the cheaper, resnet32_s2).
for backbone in resnet32_s2 resnet44_s2; do
  benchmark "$issue52" "$home/tiny/screen.log" "${tiny[@]}" --flagfile_base=flags/tiny_imagenet_lt_short.cfg \
    --methods=auxlt --seeds=0 --output_dir="$home/tiny/screen/$backbone" --extra_flags=--backbone=$backbone \
    --results="$home/tiny/screen/RESULTS_$backbone.md"
done
[[ -n "${DRY_RUN:-}" ]] && exit 0
backbone="$(python3 - "$home/tiny/screen" <<'PY'
import json, sys
validation = {b: json.load(open(f"{sys.argv[1]}/{b}/auxlt/seed0/metrics.json"))["validation"]["overall"]
              for b in ("resnet32_s2", "resnet44_s2")}
print(max(validation, key=lambda b: (validation[b], b == "resnet32_s2")))
PY
)"
echo "[queue] Tiny-ImageNet-LT backbone, chosen on validation by the screen: $backbone"
# The AuxLT recipe of flags/cifar10_lt.cfg: the AuxLT row highest on CIFAR-10 validation over both seeds
# (auxlt_mixup, or auxlt_mislas once its seed 1 has finished).
auxlt_recipe="$(python3 - "$runs" <<'PY'
import json, os, sys
def validation(method):
    files = [f"{sys.argv[1]}/{method}/seed{k}/metrics.json" for k in (0, 1)]
    return sum(json.load(open(f))["validation"]["overall"] for f in files) / 2 if all(map(os.path.isfile, files)) else -1
print(max(("auxlt_mixup", "auxlt_mislas"), key=validation))
PY
)"
echo "[queue] Tiny-ImageNet-LT rows 1-5, seed 0: ce, crt_mixup, $auxlt_recipe, auxlt, logit_adjust"
benchmark "$issue52" "$home/tiny/rows.log" "${tiny[@]}" --flagfile_base=flags/tiny_imagenet_lt.cfg --seeds=0 \
  --methods=ce,crt_mixup,"$auxlt_recipe",auxlt,logit_adjust --output_dir="$home/tiny/runs" \
  --extra_flags=--backbone=$backbone --results="$home/tiny/RESULTS.md"
# Then issue 55's 200-epoch ldam_drw seed 0 rerun on the original pixels, its cosine classifier started as the reference
# starts it (the row of the page was trained by the old port; its run stays in png200/runs).
benchmark "$issue52" "$home/png200-ldam-init/ldam_drw.log" --flagfile_base=flags/cifar10_lt.cfg --seeds=0 \
  --data_dir="$data/cifar10_png.tar.gz" --output_dir="$home/png200-ldam-init/runs" --methods=ldam_drw \
  --results="$home/png200-ldam-init/RESULTS.md" --results_tree=
