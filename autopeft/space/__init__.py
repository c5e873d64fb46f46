"""The search space: a declarative YAML file -> :class:`SpaceSpec` -> (per model) :class:`Space`.

- :mod:`~autopeft.space.parsing` — the file format, read with line-numbered errors;
- :mod:`~autopeft.space.spec` — conditions, sampling, encoding, neighbours, counting;
- :mod:`~autopeft.space.dimensions` — the dimension types (categorical, integer, float, per-layer, ...);
- :mod:`~autopeft.space.selectors` — layer selectors such as ``encoder.blocks[6:]``;
- :mod:`~autopeft.space.references` — the reference points a search evaluates first;
- :mod:`~autopeft.space.yaml_fields` — YAML reading with line-numbered, field-named errors.

Pure Python and numpy: nothing here imports torch.
"""

from autopeft.space.dimensions import DimensionSpec
from autopeft.space.parsing import load_space, parse_space
from autopeft.space.references import ReferenceSpec
from autopeft.space.spec import Space, SpaceSpec

__all__ = ["DimensionSpec", "ReferenceSpec", "Space", "SpaceSpec", "load_space", "parse_space"]
