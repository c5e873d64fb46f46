"""PEFT-Bench: a tabular benchmark of PEFT configurations and a replay runner for controller comparisons.

- :mod:`autopeft.bench.table` — read a table (CSV + sidecar JSON), check it against its space, answer
  per-seed rows, the exhaustive front and its hypervolume;
- :mod:`autopeft.bench.replay` — one controller, one seed, a budget of trials answered from the table;
- :mod:`autopeft.bench.multifidelity` — low-fidelity search with promotion to the high fidelity (ASHA);
- :mod:`autopeft.bench.compare` — many controllers x seeds: mean ± standard error, ratios, trials to 95 %;
- :mod:`autopeft.bench.paired` — two strategies on the same seeds: ahead / tied / behind, sign and
  Wilcoxon tests;
- :mod:`autopeft.bench.oracle` — the best ratio any search could have after k trials (the floor under
  "trials to 0.99");
- ``autopeft bench`` (its command line is :mod:`autopeft.cli.bench`).

Pure numpy, scipy and scikit-learn (the controllers' surrogates): no torch, so a comparison takes seconds to minutes.
Tables are built by ``benchmarks/peftbench/build.py``.
"""
