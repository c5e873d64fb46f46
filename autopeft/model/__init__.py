"""The base model: its architecture table, its adaptable structure as a graph, and loading it.

- :mod:`~autopeft.model.architectures` — per-architecture tables (module paths -> stacks, blocks, roles);
- :mod:`~autopeft.model.graph` — :class:`~autopeft.model.graph.ModelGraph`, the model as a networkx graph
  with exact parameter counts, which selectors and module sets resolve against;
- :mod:`~autopeft.model.checkpoint` — what a checkpoint holds: the modules it lacks, which join the task head
  or are refused;
- :mod:`~autopeft.model.loading` — aliases, local folders, Hub ids, weight-free skeletons (imports torch
  and transformers only inside its functions).
"""
