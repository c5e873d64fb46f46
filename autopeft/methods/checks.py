"""Check a space against a model: every method it names exists and applies to the model, every
option is one its method takes, every candidate value passes that option's parser on this model
(module sets name modules it has, selectors name blocks it has, ranks are >= 1 where a rank is
required), and every reference point parses on the model. Given the model's weight-free skeleton
(``meta`` device; :func:`check_space_file` and a search's context pass one), every reference point is also
built on a copy of it, as a trial would build it, so a reference that parses but cannot be built fails the
check, naming the reference, instead of failing its trial. Errors point at the file and line.

>>> check = check_space_file("spaces/flan-t5-layers.yaml", "flan-t5-large")   # doctest: +SKIP
>>> print(check.text())                                                        # doctest: +SKIP
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from autopeft.errors import AutopeftError, SpaceError
from autopeft.methods import get_method, method_names, parse_config
from autopeft.methods.base import GLOBAL_OPTIONS, Method
from autopeft.methods.options import positive_float
from autopeft.model.graph import ModelGraph
from autopeft.space import DimensionSpec, Space, SpaceSpec, load_space
from autopeft.space.references import ReferenceSpec, reference_config


@dataclass(frozen=True)
class SpaceCheck:
    """A space that passed its checks against one model."""

    spec: SpaceSpec
    space: Space
    graph: ModelGraph
    model: str
    references: dict[str, dict[str, Any]]
    #: Reference name -> trainable parameters of the model built from it; empty when no skeleton was given.
    built: dict[str, int] = dataclasses.field(default_factory=dict)

    @functools.cached_property
    def void(self) -> tuple[int, int, str]:
        """Of 2,000 seeded random members, how many train nothing on this model, and the first one's reason
        (computed when asked: ``spaces check`` prints it, a search need not)."""
        return void_members(self.space, self.graph)

    def text(self) -> str:
        size = self.space.cardinality()
        lines = [
            f"{self.spec.source}: OK for model {self.model}",
            self.graph.summary(),
            f"space {self.spec.name!r}: {len(self.spec.dimensions)} dimensions -> {len(self.space.dimensions)} "
            f"after resolving layers, {len(self.space.feature_names)} encoded features, "
            f"{'continuous' if size == float('inf') else f'{int(size):,} configurations'}",
        ]
        refs = [f"{name} ({self.built[name]:,} trainable, built)" if name in self.built else name
                for name in self.references]
        lines.append(f"references: {', '.join(refs) or 'none'}")
        lines.append(f"default configuration: {json.dumps(self.space.default())}")
        void, draws, reason = self.void
        if void:
            reason = reason.split(" (check ")[0].split("; allowed")[0]
            lines.append(f"members that train nothing on this model: {void:,} of {draws:,} random draws "
                         f"({100 * void / draws:.1f} %), e.g. {reason}; a search never proposes them")
        return "\n".join(lines)


def _values(dim: DimensionSpec) -> list[tuple[str, Any]]:
    """(field, value) pairs whose every value an option parser must accept."""
    kind, d = dim.type, cast(Any, dim)
    if kind in ("categorical", "per_layer"):
        return [(f"choices[{i}]", c) for i, c in enumerate(d.choices)]
    if kind == "constant":
        return [("value", dim.default_value())]
    return [("low", d.low), ("high", d.high)]


def _fail(spec: SpaceSpec, dim: DimensionSpec, field: str, reason: str, value: Any, allowed: str | None) -> SpaceError:
    return SpaceError(reason, file=spec.source, line=dim.field_line(field), field=f"{dim.name}.{field}",
                      value=value, allowed=allowed)


def _methods(spec: SpaceSpec, graph: ModelGraph) -> dict[str, Method]:
    dim = next((d for d in spec.dimensions if d.name == "method"), None)
    if dim is None or dim.type not in ("categorical", "constant"):
        raise SpaceError("the space has no categorical or constant 'method' dimension", file=spec.source,
                         line=dim.line if dim else 1, field="method",
                         allowed=f"a dimension named 'method' with values among {', '.join(method_names())}")
    out: dict[str, Method] = {}
    for field, value in _values(dim):
        if value not in method_names():
            raise _fail(spec, dim, field, "unknown method", value, ", ".join(method_names()))
        method = get_method(value)
        try:
            method.check_model(graph)
        except AutopeftError as exc:
            raise _fail(spec, dim, field, str(exc), value, None) from exc
        out[str(value)] = method
    return out


def _check_dimension(spec: SpaceSpec, dim: DimensionSpec, methods: Mapping[str, Method], graph: ModelGraph) -> None:
    prefix, _, option = dim.name.partition(".")
    if not option:
        if dim.name not in GLOBAL_OPTIONS:
            raise _fail(spec, dim, "name", "unknown option", dim.name,
                        f"'<method>.<option>' or {', '.join(GLOBAL_OPTIONS)}")
        for field, value in _values(dim):
            try:
                positive_float(dim.name, value, graph)
            except AutopeftError as exc:
                raise _fail(spec, dim, field, str(exc), value, None) from exc
        return
    if prefix not in method_names():
        raise _fail(spec, dim, "name", f"unknown method prefix {prefix!r}", dim.name,
                    f"'<method>.<option>' with a method among {', '.join(method_names())}")
    if prefix not in methods:
        raise _fail(spec, dim, "name", f"an option of method {prefix!r}, which the 'method' dimension never takes",
                    dim.name, ", ".join(methods))
    method = methods[prefix]
    if option not in method.option_names():
        raise _fail(spec, dim, "name", f"unknown option {option!r} of method {prefix!r}", dim.name,
                    ", ".join(method.option_names()))
    for field, value in _values(dim):
        try:
            method.check_value(option, value, graph, per_layer=dim.type == "per_layer")
        except AutopeftError as exc:
            raise _fail(spec, dim, field, str(exc), value, None) from exc


def resolve_references(refs: tuple[ReferenceSpec, ...], graph: ModelGraph, source: str) -> dict[str, dict[str, Any]]:
    """Reference specs of a space -> name: configuration, each parsed against the model."""
    out: dict[str, dict[str, Any]] = {}
    for ref in refs:
        try:
            config = dict(ref.config) if ref.config is not None else reference_config(ref.name, graph)
            parse_config(config, graph)
        except AutopeftError as exc:
            raise SpaceError(str(exc), file=source, line=ref.line, field=f"references.{ref.name}") from exc
        out[ref.name] = config
    return out


def build_references(refs: tuple[ReferenceSpec, ...], configs: Mapping[str, Mapping[str, Any]], graph: ModelGraph,
                     skeleton: Any, source: str) -> dict[str, int]:
    """Build each reference configuration on a copy of ``skeleton``: name -> trainable parameters.

    A build that raises (peft refusing the configuration on this model, whatever the exception) is one
    SpaceError naming the reference and its line.
    """
    out: dict[str, int] = {}
    for ref in refs:
        try:
            method, options = parse_config(configs[ref.name], graph)
            out[ref.name] = method.build(copy.deepcopy(skeleton), graph, options).trainable_params
        except Exception as exc:  # any failure to build is this reference's error, in one line
            text = str(exc) if isinstance(exc, AutopeftError) else f"{type(exc).__name__}: {exc}"
            reason = " ".join(text.split())
            raise SpaceError(f"reference point {ref.name!r} does not build on this model: {reason}", file=source,
                             line=ref.line, field=f"references.{ref.name}") from exc
    return out


def check_space(spec: SpaceSpec, graph: ModelGraph, model: str = "model", skeleton: Any = None) -> SpaceCheck:
    """Resolve ``spec`` on ``graph`` and check it; raises SpaceError naming file and line.

    With ``skeleton`` (the weight-free model ``graph`` was read from) every reference point is also built.
    """
    space = spec.resolve(graph.layout)
    methods = _methods(spec, graph)
    for dim in spec.dimensions:
        if dim.name != "method":
            _check_dimension(spec, dim, methods, graph)
    default = space.default()
    try:
        parse_config(default, graph)
    except AutopeftError as exc:
        raise SpaceError(f"the default configuration {json.dumps(default)} does not build: {exc}",
                         file=spec.source, line=1) from exc
    references = resolve_references(spec.references, graph, spec.source)
    built = build_references(spec.references, references, graph, skeleton, spec.source) if skeleton is not None else {}
    return SpaceCheck(spec, space, graph, model, references, built)


def void_members(space: Space, graph: ModelGraph, draws: int = 2000, seed: int = 0) -> tuple[int, int, str]:
    """How many of ``draws`` seeded random members train nothing on ``graph``'s model, and the first one's reason.

    Each choice may apply to the model on its own and still make a member that adapts nothing in combination (a
    T5 space's ``cross_attention`` with every decoder block at rank 0): the search treats those as infeasible,
    and ``spaces check`` says how much of the space they are. Methods without a closed-form count are not
    judged (their members build whenever they parse)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    void, reason = 0, ""
    for _ in range(draws):
        config = space.sample(rng)
        try:
            method, options = parse_config(config, graph)
            count = method.count_trainable(options, graph)
        except AutopeftError as exc:
            void, reason = void + 1, reason or str(exc)
            continue
        if count is not None and count <= 0:
            void, reason = void + 1, reason or f"{method.name}: trains no parameter"
    return void, draws, reason


def check_space_file(path: str | Path, model: str) -> SpaceCheck:
    """Load ``path`` and check it against ``model``'s structure (weights are not loaded); builds the references."""
    from autopeft.model.loading import skeleton

    spec = load_space(path)
    shapes = skeleton(model)
    graph = ModelGraph.from_model(shapes)
    return check_space(spec, graph, model, skeleton=shapes)
