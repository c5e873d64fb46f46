"""PEFT-Bench tables: every member of a finite space, trained and evaluated, stored as data.

A table is a CSV with one row per configuration x fidelity x training seed, and a sidecar JSON of the
same name (``minilm-tweets.csv`` + ``minilm-tweets.json``) that holds what the rows need to be read:
the exact space text, the model's layout (``{"encoder": 6}``) and how the table was made. Columns:

- one per dimension of the space, a ``per_layer`` dimension one per block (``lora.ranks[encoder.2]``),
  empty where the dimension is inactive;
- ``fidelity_steps``, ``seed``, ``state`` (``complete`` / ``failed``), ``error``;
- every metric the runner records (``accuracy``, ``macro_f1``, ``ece``, ``brier``, ``nll``, ...), the
  parameter counts and the times (``trainable_params``, ``total_params``, ``train_seconds``, ...).

:func:`load_table` checks the columns against the space (naming the missing and the extra ones) and every
row against its dimension's choices; :class:`Table` answers "what did this configuration score at this
fidelity, per seed" and gives the exhaustive front and its hypervolume, measured from the same reference
point as a search (:func:`reference_point`). Pure numpy: no torch, so a replay takes seconds.
"""

from __future__ import annotations

from autopeft.bench.table.cells import TableError, cell_text, config_cells, config_from_cells, dimension_columns
from autopeft.bench.table.csv_io import load_table, write_table
from autopeft.bench.table.store import (
    FORMAT,
    RECORD_COLUMNS,
    REQUIRED_COLUMNS,
    Entry,
    Measurement,
    Table,
    TableMeta,
    objectives_from,
    sidecar_path,
)

__all__ = [
    "FORMAT",
    "RECORD_COLUMNS",
    "REQUIRED_COLUMNS",
    "Entry",
    "Measurement",
    "Table",
    "TableError",
    "TableMeta",
    "cell_text",
    "config_cells",
    "config_from_cells",
    "dimension_columns",
    "load_table",
    "objectives_from",
    "sidecar_path",
    "write_table",
]

