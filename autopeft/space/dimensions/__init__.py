"""Dimension types of a search space: what each ``type:`` in a space file means.

Each type is a frozen dataclass registered in :data:`DIMENSION_TYPES`. It parses its own YAML fields
(:meth:`DimensionSpec.parse`, line-numbered :class:`SpaceError`) and knows how to give a default,
sample, check, encode, decode and step one value. Layout-free types are used as they are; a
``per_layer`` dimension is bound to its block ids first (:meth:`PerLayerSpec.bind`).

>>> dim = IntegerSpec(name="tokens", low=5, high=50, step=5)
>>> dim.default_value(), dim.check(10.0), dim.moves(50)
(30, 10, [45])
"""

from __future__ import annotations

from autopeft.space.dimensions.base import COMMON, Condition, DimensionSpec, Scalar, same, show
from autopeft.space.dimensions.categorical import CategoricalSpec, ConstantSpec
from autopeft.space.dimensions.per_layer import PerLayerSpec
from autopeft.space.dimensions.ranges import FloatSpec, IntegerSpec

__all__ = ["COMMON", "DIMENSION_TYPES", "CategoricalSpec", "Condition", "ConstantSpec", "DimensionSpec", "FloatSpec",
           "IntegerSpec", "PerLayerSpec", "Scalar", "same", "show"]

#: ``type:`` name -> dimension class. Adding a type is one class and one line here.
DIMENSION_TYPES: dict[str, type[DimensionSpec]] = {
    cls.TYPE: cls for cls in (CategoricalSpec, IntegerSpec, FloatSpec, PerLayerSpec, ConstantSpec)
}
