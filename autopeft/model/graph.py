"""The model's adaptable structure as a directed graph (networkx).

``model -> stack -> block -> sub-layer -> module``; every node carries its exact parameter
count, read from the built model. The graph answers the questions a space asks of a model:
how many blocks each stack has (the *layout* selectors resolve against), which modules a
module set such as ``attn.q+attn.v`` names in which blocks, and whether those exist at all.

>>> graph = ModelGraph.from_model(model)          # doctest: +SKIP
>>> graph.layout                                  # doctest: +SKIP
{'encoder': 8, 'decoder': 8}
>>> [m.path for m in graph.select("qv", ["decoder.7"])]   # doctest: +SKIP
['decoder.block.7.layer.0.SelfAttention.q', 'decoder.block.7.layer.0.SelfAttention.v']
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import networkx as nx

from autopeft.errors import ConfigError, ModelGraphError
from autopeft.model.architectures import ROLES, Architecture, architecture_for, supported_model_types
from autopeft.model.checkpoint import NEW_MODULES
from autopeft.space.selectors import describe_layout

#: Named module sets; anything else is a ``+``-joined list of role patterns (``attn.*+ffn.out``).
MODULE_SETS: dict[str, tuple[str, ...]] = {
    "qv": ("attn.q", "attn.v"),
    "qkv": ("attn.q", "attn.k", "attn.v"),
    "attention": ("attn.*",),
    "cross_attention": ("cross.*",),
    "all_attention": ("attn.*", "cross.*"),
    "ffn": ("ffn.*",),
    "attention_ffn": ("attn.*", "ffn.*"),
    "all_linear": ("attn.*", "cross.*", "ffn.*"),
    "layer_norm": ("ln",),
}


def parse_module_set(text: str) -> tuple[str, ...]:
    """``"qv"`` or ``"attn.q+ffn.*"`` -> role patterns; ConfigError if a term names no role."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"module set {text!r} is not a non-empty string; allowed: {_allowed_sets()}")
    if text in MODULE_SETS:
        return MODULE_SETS[text]
    terms = tuple(t.strip() for t in text.split("+"))
    for term in terms:
        if term in MODULE_SETS:
            continue
        if not fnmatch.filter(ROLES, term):
            raise ConfigError(f"module set {text!r}: term {term!r} names no module role; allowed: {_allowed_sets()}")
    return tuple(p for term in terms for p in MODULE_SETS.get(term, (term,)))


def _allowed_sets() -> str:
    return f"one of {', '.join(MODULE_SETS)} or roles joined by '+' from {', '.join(ROLES)} ('*' allowed)"


@dataclass(frozen=True)
class ModuleInfo:
    """One adaptable module (a Linear or a LayerNorm) inside a block."""

    path: str
    stack: str
    block: int
    sublayer: str
    role: str
    kind: str  # "linear" | "norm"
    params: int
    has_bias: bool
    shape: tuple[int, int]  # (in_features, out_features); (n, n) for norms

    @property
    def block_id(self) -> str:
        return f"{self.stack}.{self.block}"

    @property
    def short_name(self) -> str:
        return self.path.rsplit(".", 1)[-1]


class ModelGraph:
    """Read-only graph of one model's adaptable structure; build it with :meth:`from_model`."""

    def __init__(self, graph: nx.DiGraph, architecture: Architecture, model_type: str,
                 module_names: Sequence[str], head_params: int = 0, embedding_dim: int | None = None,
                 attention_heads: int | None = None, head_modules: Sequence[str] | None = None) -> None:
        self.graph = graph
        self.architecture = architecture
        self.model_type = model_type
        self.module_names = tuple(module_names)
        #: parameters of the task head (trained by every method on encoders)
        self.head_params = head_params
        #: width of the input token embeddings (a prompt's virtual tokens have it); None when unknown
        self.embedding_dim = embedding_dim
        #: attention heads per layer, from the config (its attribute map: DistilBERT's n_heads); None when unknown
        self.attention_heads = attention_heads
        self._heads = None if head_modules is None else tuple(head_modules)

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def from_model(cls, model: Any) -> ModelGraph:
        """Walk ``model.named_modules()``; raises ModelGraphError for unsupported architectures. The task head is
        the architecture's head modules and those the model's checkpoint lacked (set by the loader,
        :data:`autopeft.model.checkpoint.NEW_MODULES`)."""
        model_type = getattr(getattr(model, "config", None), "model_type", None) or type(model).__name__
        arch = architecture_for(str(model_type))
        if arch is None:
            raise ModelGraphError(
                f"unsupported architecture {model_type!r} ({type(model).__name__}); supported model types: "
                f"{', '.join(supported_model_types())}; add one in autopeft/model/architectures.py "
                "(an Architecture entry + register_architecture)"
            )
        g: nx.DiGraph = nx.DiGraph()
        g.add_node("model", kind="model", params=_numel(model), path="")
        names: list[str] = []
        pending_norms: list[tuple[str, Any, tuple[str, int, str, str], str]] = []
        sublayer_of_parent: dict[str, str] = {}
        for path, module in model.named_modules():
            names.append(path)
            where = arch.classify(path)
            if where is None:
                continue
            stack, block, sublayer, role = where
            parent = path.rsplit(".", 1)[0]
            if role == "ln" and not sublayer:
                pending_norms.append((path, module, where, parent))
                continue
            sublayer_of_parent[parent.rsplit(".", 1)[0]] = sublayer
            cls._add_module(g, path, module, where, model, arch)
        for path, module, (stack, block, _, role), parent in pending_norms:
            # T5 puts each sub-layer's norm beside its attention / feed-forward module
            sublayer = sublayer_of_parent.get(parent, "")
            cls._add_module(g, path, module, (stack, block, sublayer or "norm", role), model, arch)
        if g.number_of_nodes() == 1:
            raise ModelGraphError(f"model of type {model_type!r} has no module that {arch.name!r} rules recognise")
        known = set(names)
        heads = tuple(h for h in (*getattr(model, NEW_MODULES, ()), *arch.head_modules) if h in known)
        head = sum(_numel(model.get_submodule(h)) for h in heads)
        embeddings = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
        width = getattr(embeddings, "embedding_dim", None)
        n_heads = getattr(getattr(model, "config", None), "num_attention_heads", None)
        return cls(g, arch, str(model_type), names, head, int(width) if width is not None else None,
                   int(n_heads) if n_heads is not None else None, heads)

    @staticmethod
    def _add_module(g: nx.DiGraph, path: str, module: Any, where: tuple[str, int, str, str], model: Any,
                    arch: Architecture) -> None:
        stack, block, sublayer, role = where
        block_id = f"{stack}.{block}"
        sub_id = f"{block_id}.{sublayer}"
        if stack not in g:
            g.add_node(stack, kind="stack", params=0, path="")
            g.add_edge("model", stack)
        if block_id not in g:
            block_path = arch.block_path(path)
            g.add_node(block_id, kind="block", stack=stack, index=block, path=block_path,
                       params=_numel(model.get_submodule(block_path)))
            g.add_edge(stack, block_id)
            g.nodes[stack]["params"] += g.nodes[block_id]["params"]
        if sub_id not in g:
            g.add_node(sub_id, kind="sublayer", params=0, path="")
            g.add_edge(block_id, sub_id)
        is_norm = role == "ln"
        weight = getattr(module, "weight", None)
        n = int(weight.shape[0]) if weight is not None else 0
        shape = (n, n) if is_norm else (int(module.in_features), int(module.out_features))
        info = ModuleInfo(path=path, stack=stack, block=block, sublayer=sublayer, role=role,
                          kind="norm" if is_norm else "linear", params=_numel(module),
                          has_bias=getattr(module, "bias", None) is not None, shape=shape)
        g.add_node(path, kind="module", info=info, params=info.params)
        g.add_edge(sub_id, path)
        g.nodes[sub_id]["params"] += info.params

    # ---- queries --------------------------------------------------------------------------
    @property
    def kind(self) -> str:
        """``"seq2seq"`` or ``"encoder"``."""
        return self.architecture.kind

    @property
    def layout(self) -> dict[str, int]:
        """Stack name -> number of blocks, e.g. ``{"encoder": 6}``."""
        return {s: len(list(self.graph.successors(s))) for s in self.graph.successors("model")}

    @property
    def total_params(self) -> int:
        return int(self.graph.nodes["model"]["params"])

    @property
    def roles(self) -> tuple[str, ...]:
        present = {m.role for m in self.modules()}
        return tuple(r for r in ROLES if r in present)

    @property
    def head_modules(self) -> tuple[str, ...]:
        """Task-head modules (trained by every method on encoders), those the model really has: the
        architecture's, and those its checkpoint lacked (:mod:`autopeft.model.checkpoint`)."""
        if self._heads is not None:
            return self._heads
        have = set(self.module_names)
        return tuple(h for h in self.architecture.head_modules if h in have)

    def block_ids(self) -> list[str]:
        return [b for s in self.graph.successors("model") for b in self.graph.successors(s)]

    def block_path(self, block_id: str) -> str:
        return str(self.graph.nodes[block_id]["path"])

    def params(self, node: str) -> int:
        """Exact parameter count of a node (``"model"``, ``"encoder"``, ``"encoder.3"``, a module path)."""
        if node not in self.graph:
            raise ModelGraphError(f"no node {node!r} in the model graph; blocks: {', '.join(self.block_ids())}")
        return int(self.graph.nodes[node]["params"])

    def modules(self, blocks: Iterable[str] | None = None) -> list[ModuleInfo]:
        """All adaptable modules, optionally only those in ``blocks`` (block ids), in model order."""
        wanted = None if blocks is None else set(blocks)
        if wanted is not None:
            unknown = sorted(wanted - set(self.block_ids()))
            if unknown:
                raise ModelGraphError(
                    f"blocks {unknown} are not in the model; it has {describe_layout(self.layout)}"
                )
        return [
            data["info"] for node, data in self.graph.nodes(data=True)
            if data["kind"] == "module" and (wanted is None or data["info"].block_id in wanted)
        ]

    def match_roles(self, module_set: str) -> tuple[str, ...]:
        """Roles of this model named by ``module_set``; ModelGraphError if it names none of them."""
        patterns = parse_module_set(module_set)
        present = self.roles
        matched = tuple(r for r in present if any(fnmatch.fnmatchcase(r, p) for p in patterns))
        if not matched:
            raise ModelGraphError(
                f"module set {module_set!r} names no module of this {self.architecture.name} model; "
                f"allowed: module sets over its roles {', '.join(present)}"
            )
        return matched

    def select(self, module_set: str, blocks: Iterable[str] | None = None) -> list[ModuleInfo]:
        """Modules in ``blocks`` whose role is in ``module_set``."""
        roles = set(self.match_roles(module_set))
        return [m for m in self.modules(blocks) if m.role in roles]

    def summary(self) -> str:
        """A few lines describing the structure, for ``autopeft spaces check``."""
        lines = [f"{self.architecture.name} ({self.model_type}), {self.total_params:,} parameters"]
        for stack, n in self.layout.items():
            lines.append(f"  {stack}: {n} blocks x {self.params(stack) // max(n, 1):,} parameters")
        lines.append(f"  roles: {', '.join(self.roles)}")
        if self.head_modules:
            lines.append(f"  task head, trained by every method: {', '.join(self.head_modules)} "
                         f"({self.head_params:,} parameters)")
        return "\n".join(lines)


def _numel(module: Any) -> int:
    return int(sum(p.numel() for p in module.parameters()))
