#!/usr/bin/env bash
# Writes the committed report files from the runs `bash reports/regenerate.sh` made (run from the repository root).
#   reports/default-budget50/         the tweets-sentiment run: journal, status, front, every trial, finalize tables
#   reports/minilm-default-budget50/  `autopeft report` of both runs (HTML, Markdown, CSV, figures) and their journals
set -euo pipefail
runs=${RUNS:-runs}
one=reports/default-budget50
mkdir -p "$one" reports/minilm-default-budget50/journals
cp "$runs/default-budget50/study.db" "$one/study.db"
autopeft status "$runs/default-budget50" > "$one/status.txt"
autopeft pareto "$runs/default-budget50" > "$one/front.txt"
autopeft pareto "$runs/default-budget50" --format csv > "$one/front.csv"
autopeft pareto "$runs/default-budget50" --all --format csv > "$one/trials.csv"
python -c "import sys; from pathlib import Path; from autopeft.cli.finalize import finalize_text
print(finalize_text(Path(sys.argv[1])))" "$runs/default-budget50" > "$one/finalize.txt"
for run in default-budget50 default-bbc-news-budget50; do
  [ -f "$runs/$run/study.db" ] && cp "$runs/$run/study.db" "reports/minilm-default-budget50/journals/$run.db"
done
cp "$runs/wall-times.txt" "$one/wall-times.txt" 2>/dev/null || true
autopeft report "$runs/default-budget50" "$runs/default-bbc-news-budget50" --out reports/minilm-default-budget50
