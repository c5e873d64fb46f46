#!/usr/bin/env bash
# The multi-fidelity (ASHA) search of the embedded default on bbc-news, budget 50, beside the single-fidelity
# one committed in reports/minilm-default-budget50/journals/default-bbc-news-budget50.db. Resumable: run it again
# after an interruption and it continues from the journal. Run from the repository root:
#   bash reports/asha-bbc-news.sh          # search (runs/default-bbc-news-asha-budget50), then the files below
# Writes reports/bbc-news-asha-budget50/: the journal, status, front, every trial, wall times and the comparison
# (benchmarks/asha_vs_single.py).
set -euo pipefail
runs=${RUNS:-runs}
out="$runs/default-bbc-news-asha-budget50"
dest=reports/bbc-news-asha-budget50
mkdir -p "$dest"
if [ ! -f "$out/study.db" ] && [ -f "$dest/study.db" ]; then  # a fresh checkout: go on from the committed journal
  mkdir -p "$out" && cp "$dest/study.db" "$out/study.db"
fi
start=$(date +%s)
if [ -f "$out/study.db" ]; then
  autopeft search --resume "$out"
else
  autopeft search search/default-bbc-news-asha.yaml --budget 50 --out "$out"
fi
echo "default-bbc-news-asha search: $(( $(date +%s) - start )) s wall ($(date -u +%FT%TZ))" | tee -a "$dest/wall-times.txt"
cp "$out/study.db" "$dest/study.db"
autopeft status "$out" > "$dest/status.txt"
autopeft pareto "$out" > "$dest/front.txt"
autopeft pareto "$out" --all --format csv > "$dest/trials.csv"
python benchmarks/asha_vs_single.py --single reports/minilm-default-budget50/journals/default-bbc-news-budget50.db \
  --asha "$dest/study.db" --out "$dest/comparison"
