"""A study: one search run — its recipe, its journal, the loop that drives trials through an engine, and
what is done with the front afterwards.

- :mod:`~autopeft.study.recipe` — what a search runs (model, task, space, fidelity, search settings);
- :mod:`~autopeft.study.journal` — the run's SQLite journal: every trial, every state change;
- :mod:`~autopeft.study.front` — the Pareto front and hypervolume of a run;
- :mod:`~autopeft.study.search` — ``run_search``: a search, started or resumed;
- :mod:`~autopeft.study.finalize` — pick a point, re-train it over seeds on the test split, export it;
- :mod:`~autopeft.study.export` — a trained configuration -> a plain ``peft`` adapter folder.

Importing this package imports no torch; the modules that train load it when they run.
"""
