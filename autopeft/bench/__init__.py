"""PEFT-Bench: a tabular benchmark of PEFT configurations and a replay runner for controller comparisons."""
