#!/usr/bin/env bash
# PEFT-Bench v2: the MiniLM tweets table again with 4 training seeds (v1 has 2), and a second table over the
# same space on bbc-news, each with a 24-configuration subset at 60 steps. bbc-news was first built with 2 seeds
# (minilm-bbc-news.csv); minilm-bbc-news-v2.csv has 4, its seeds 0 and 1 imported from the 2-seed table.
# Measured on 2 CPU cores: tweets 6.6 h of compute (half of it imported from v1), a bbc-news trial about 15.5 s,
# so 2 seeds make about 2.5 h and the 2 more of v2 about 2.5 h again (`--dry-run` prints the builder's own
# estimate, which counts imported trials as if they were to be trained).
# Resumable: run the same command again after a kill; finished trials are kept in runs/peftbench-*/study.db.
#
#   bash benchmarks/peftbench/build_v2.sh            # both tables, one after the other
#   bash benchmarks/peftbench/build_v2.sh bbc-news   # one of them (tweets or bbc-news)
set -euo pipefail
cd "$(dirname "$0")/../.."
which=${1:-all}
# A table's own committed CSV (partial, from an earlier machine) is imported too, so a fresh checkout goes on
# where the last one stopped: `--write-only` after a kill writes what the journal holds.
imports() { for t in "$@"; do [[ -f $t ]] && printf -- '--import %s ' "$t"; done; }
if [[ $which == all || $which == tweets ]]; then
  # seeds 0 and 1 at 30 and 60 steps come from the v1 table (same recipe; training is deterministic)
  # shellcheck disable=SC2046
  python benchmarks/peftbench/build.py --recipe benchmarks/peftbench/minilm-tweets.yaml --seeds 4 --high-count 24 \
    --out runs/peftbench-minilm-tweets-v2 --table benchmarks/peftbench/minilm-tweets-v2.csv \
    $(imports benchmarks/peftbench/minilm-tweets.csv benchmarks/peftbench/minilm-tweets-v2.csv)
fi
if [[ $which == all || $which == bbc-news ]]; then
  # seeds 0 and 1 at 30 and 60 steps come from the 2-seed table (same recipe; training is deterministic)
  # shellcheck disable=SC2046
  python benchmarks/peftbench/build.py --recipe benchmarks/peftbench/minilm-bbc-news.yaml --seeds 4 --high-count 24 \
    --out runs/peftbench-minilm-bbc-news-v2 --table benchmarks/peftbench/minilm-bbc-news-v2.csv \
    $(imports benchmarks/peftbench/minilm-bbc-news.csv benchmarks/peftbench/minilm-bbc-news-v2.csv)
fi
