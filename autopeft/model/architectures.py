"""Per-architecture tables: how module paths map to stacks, blocks, sub-layers and roles.

A *role* is the architecture-neutral name of a module inside a block, so one space file can
say ``attn.q+attn.v`` and mean ``SelfAttention.q``/``.v`` on T5 and ``attention.self.query``/
``.value`` on BERT. Roles: ``attn.{q,k,v,o}`` (self-attention), ``cross.{q,k,v,o}``
(encoder-decoder attention), ``ffn.in`` / ``ffn.out`` (feed-forward), ``ln`` (layer norm).

To support a new architecture, add one :class:`Architecture` to this table and register it
with :func:`register_architecture` (one entry, no if-chains elsewhere).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ROLES: tuple[str, ...] = (
    "attn.q", "attn.k", "attn.v", "attn.o",
    "cross.q", "cross.k", "cross.v", "cross.o",
    "ffn.in", "ffn.out", "ln",
)


@dataclass(frozen=True)
class Architecture:
    """How to read one model family's module tree.

    ``block`` matches a module path inside a block and captures ``stack``, ``block`` (index)
    and ``rest``; ``roles`` maps a regex on ``rest`` to ``(sub-layer, role)``. ``stack_names`` renames a
    captured stack, so that one space file names the same stack on every encoder (DistilBERT's
    ``transformer`` is the ``encoder``).
    """

    name: str
    model_types: tuple[str, ...]
    kind: str  # "seq2seq" or "encoder"
    block: re.Pattern[str]
    roles: tuple[tuple[re.Pattern[str], str, str], ...]
    head_modules: tuple[str, ...] = ()
    stack_norms: tuple[str, ...] = ()
    #: attention layers accept peft's past-key-value prefixes (prefix tuning)
    supports_prefix: bool = True
    stack_names: tuple[tuple[str, str], ...] = ()

    def classify(self, path: str) -> tuple[str, int, str, str] | None:
        """``path`` -> (stack, block index, sub-layer, role), or None if it is no adaptable module."""
        m = self.block.match(path)
        if m is None:
            return None
        rest = m.group("rest")
        for pattern, sublayer, role in self.roles:
            if pattern.fullmatch(rest):
                stack = dict(self.stack_names).get(m.group("stack"), m.group("stack"))
                return stack, int(m.group("block")), sublayer, role
        return None

    def block_path(self, path: str) -> str:
        """The path of the block that holds module ``path`` (``encoder.block.3`` for its ``...SelfAttention.q``)."""
        m = self.block.match(path)
        if m is None:
            raise ValueError(f"module {path!r} is in no block of a {self.name} model")
        return path[:m.end("block")]


def _roles(*rows: tuple[str, str, str]) -> tuple[tuple[re.Pattern[str], str, str], ...]:
    return tuple((re.compile(rx), sub, role) for rx, sub, role in rows)


T5 = Architecture(
    name="t5",
    model_types=("t5", "mt5", "umt5"),
    kind="seq2seq",
    block=re.compile(r"^(?:.*\.)?(?P<stack>encoder|decoder)\.block\.(?P<block>\d+)\.layer\.\d+\.(?P<rest>.+)$"),
    roles=_roles(
        (r"SelfAttention\.q", "attn", "attn.q"),
        (r"SelfAttention\.k", "attn", "attn.k"),
        (r"SelfAttention\.v", "attn", "attn.v"),
        (r"SelfAttention\.o", "attn", "attn.o"),
        (r"EncDecAttention\.q", "cross", "cross.q"),
        (r"EncDecAttention\.k", "cross", "cross.k"),
        (r"EncDecAttention\.v", "cross", "cross.v"),
        (r"EncDecAttention\.o", "cross", "cross.o"),
        (r"DenseReluDense\.wi(?:_0|_1)?", "ffn", "ffn.in"),
        (r"DenseReluDense\.wo", "ffn", "ffn.out"),
        (r"layer_norm", "", "ln"),  # sub-layer filled in from its siblings
    ),
    head_modules=(),
    stack_norms=("final_layer_norm",),
)

BERT = Architecture(
    name="bert",
    model_types=("bert", "roberta", "xlm-roberta", "electra"),
    kind="encoder",
    block=re.compile(r"^(?:.*\.)?(?P<stack>encoder)\.layer\.(?P<block>\d+)\.(?P<rest>.+)$"),
    roles=_roles(
        (r"attention\.self\.query", "attn", "attn.q"),
        (r"attention\.self\.key", "attn", "attn.k"),
        (r"attention\.self\.value", "attn", "attn.v"),
        (r"attention\.output\.dense", "attn", "attn.o"),
        (r"attention\.output\.LayerNorm", "attn", "ln"),
        (r"intermediate\.dense", "ffn", "ffn.in"),
        (r"output\.dense", "ffn", "ffn.out"),
        (r"output\.LayerNorm", "ffn", "ln"),
    ),
    head_modules=("classifier",),
    supports_prefix=False,  # transformers 5 BERT takes no past key values
)

DISTILBERT = Architecture(
    name="distilbert",
    model_types=("distilbert",),
    kind="encoder",
    block=re.compile(r"^(?:.*\.)?(?P<stack>transformer)\.layer\.(?P<block>\d+)\.(?P<rest>.+)$"),
    roles=_roles(
        (r"attention\.q_lin", "attn", "attn.q"),
        (r"attention\.k_lin", "attn", "attn.k"),
        (r"attention\.v_lin", "attn", "attn.v"),
        (r"attention\.out_lin", "attn", "attn.o"),
        (r"sa_layer_norm", "attn", "ln"),
        (r"ffn\.lin1", "ffn", "ffn.in"),
        (r"ffn\.lin2", "ffn", "ffn.out"),
        (r"output_layer_norm", "ffn", "ln"),
    ),
    head_modules=("pre_classifier", "classifier"),  # both new in a classifier loaded from the base checkpoint
    supports_prefix=False,  # no past key values
    stack_names=(("transformer", "encoder"),),
)

DEBERTA = Architecture(
    name="deberta-v2",
    model_types=("deberta-v2",),  # DeBERTa-v2 and -v3 (v3 checkpoints say deberta-v2); v1 fuses q, k, v
    kind="encoder",
    block=re.compile(r"^(?:.*\.)?(?P<stack>encoder)\.layer\.(?P<block>\d+)\.(?P<rest>.+)$"),
    roles=_roles(
        (r"attention\.self\.query_proj", "attn", "attn.q"),
        (r"attention\.self\.key_proj", "attn", "attn.k"),
        (r"attention\.self\.value_proj", "attn", "attn.v"),
        (r"attention\.output\.dense", "attn", "attn.o"),
        (r"attention\.output\.LayerNorm", "attn", "ln"),
        (r"intermediate\.dense", "ffn", "ffn.in"),
        (r"output\.dense", "ffn", "ffn.out"),
        (r"output\.LayerNorm", "ffn", "ln"),
    ),
    head_modules=("pooler.dense", "classifier"),  # both new in a classifier loaded from the base checkpoint
    supports_prefix=False,  # no past key values
)

_REGISTRY: dict[str, Architecture] = {}


def register_architecture(arch: Architecture) -> None:
    """Add an architecture; each ``model_type`` may belong to one architecture only."""
    for model_type in arch.model_types:
        if model_type in _REGISTRY:
            raise ValueError(f"model_type {model_type!r} is already registered to {_REGISTRY[model_type].name!r}")
    for model_type in arch.model_types:
        _REGISTRY[model_type] = arch


def architecture_for(model_type: str) -> Architecture | None:
    return _REGISTRY.get(model_type)


def supported_model_types() -> list[str]:
    return sorted(_REGISTRY)


register_architecture(T5)
register_architecture(BERT)
register_architecture(DISTILBERT)
register_architecture(DEBERTA)
