#!/usr/bin/env bash
# Regenerates the committed reports of the embedded default (MiniLM-L6, budget 50) on tweets-sentiment and
# bbc-news: two searches, finalize of the knee and of the best point, the status/front/trials files and the
# two-task report. Resumable: run it again after an interruption and it continues from the journals.
# Run from the repository root:  bash reports/regenerate.sh [RECIPE ...]   (default: both recipes, one after the
# other; the committed runs ran `bash reports/regenerate.sh default` and `... default-bbc-news` side by side),
# then `bash reports/build.sh` for the report files.
set -euo pipefail
runs=${RUNS:-runs}
recipes=("$@")
[ ${#recipes[@]} -gt 0 ] || recipes=(default default-bbc-news)
for recipe in "${recipes[@]}"; do
  out="$runs/$recipe-budget50"
  start=$(date +%s)
  if [ -f "$out/study.db" ]; then
    autopeft search --resume "$out"
  else
    autopeft search "search/$recipe.yaml" --budget 50 --out "$out"
  fi
  echo "$recipe search: $(( $(date +%s) - start )) s wall" | tee -a "$runs/wall-times.txt"
  for pick in knee best; do
    start=$(date +%s)
    autopeft finalize "$out" --pick "$pick"
    echo "$recipe finalize $pick: $(( $(date +%s) - start )) s wall" | tee -a "$runs/wall-times.txt"
  done
done
