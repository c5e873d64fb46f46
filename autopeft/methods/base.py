"""The method interface, the built-model record and the registry.

A method turns checked options into a trainable model: a ``peft`` model for the PEFT
methods, the base model with chosen parameters unfrozen for ``bitfit`` and ``full``.
Adding a method is one module that subclasses :class:`Method` and calls
:func:`register_method` once.
"""

from __future__ import annotations

import contextlib
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

from autopeft.errors import ConfigError, MethodError
from autopeft.methods.options import Option, positive_float
from autopeft.model.graph import ModelGraph

_TASK_TYPES = {"seq2seq": "SEQ_2_SEQ_LM", "encoder": "SEQ_CLS"}


def peft_task_type(graph: ModelGraph) -> str:
    """The peft ``TaskType`` for the model's kind (a classification head on encoders)."""
    return _TASK_TYPES[graph.kind]


class _SavesModules(Protocol):
    modules_to_save: list[str] | None


_Config = TypeVar("_Config", bound=_SavesModules)
#: module-name suffixes that peft saves with a sequence-classification adapter of its own accord
_PEFT_SAVES_HEADS = ("classifier", "score")


def save_head(config: _Config, graph: ModelGraph) -> _Config:
    """``config`` with the encoder head's other modules (DeBERTa's pooler) in ``modules_to_save``: peft trains and
    saves only modules named like ``classifier`` or ``score``, and the rest of a fresh head would stay random,
    frozen and out of the exported adapter."""
    extra = [h for h in graph.head_modules if not h.endswith(_PEFT_SAVES_HEADS)]
    if extra:
        config.modules_to_save = [*(config.modules_to_save or ()), *extra]
    return config


@contextlib.contextmanager
def quiet_peft() -> Iterator[None]:
    """Inside: no warnings that ``get_peft_model`` raises on every call with this stack and that say nothing
    about the user's model (transformers' deprecation of ``is_gradient_checkpointing``, which peft reads,
    peft's "Unsupported layer type" for LN tuning on ``LayerNorm``, which works, and BEFT's note on T5 that it
    cannot be merged, which ``export --merge`` says itself, before anything runs)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing", category=FutureWarning)
        warnings.filterwarnings("ignore", message="Unsupported layer type", category=UserWarning)
        warnings.filterwarnings("ignore", message="Detected that the base layer has no bias term", category=UserWarning)
        yield


#: Options every method takes (not namespaced in a configuration: ``learning_rate``).
GLOBAL_OPTIONS: tuple[str, ...] = ("learning_rate",)


@dataclass
class BuiltModel:
    """A model ready to train, with its trainable-parameter count read from the model itself."""

    model: Any
    method: str
    options: dict[str, Any]
    peft_config: Any | None
    learning_rate: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def trainable_params(self) -> int:
        return int(sum(p.numel() for p in self.model.parameters() if p.requires_grad))

    @property
    def total_params(self) -> int:
        return int(sum(p.numel() for p in self.model.parameters()))

    def trainable_names(self) -> list[str]:
        return [n for n, p in self.model.named_parameters() if p.requires_grad]

    @property
    def virtual_tokens(self) -> int:
        """Virtual tokens put before the input (prompt tuning), which take positions as input tokens do; 0 for
        every other method (prefix tuning's go into the attention's past keys, on models with relative
        positions)."""
        return int(self.options.get("num_virtual_tokens", 0)) if self.method == "prompt_tuning" else 0


class Method(ABC):
    """A PEFT method: options with parsers, a default learning rate, and how to build and save."""

    name: ClassVar[str]
    summary: ClassVar[str]
    options: ClassVar[tuple[Option, ...]]
    default_learning_rate: ClassVar[float]

    # ---- options --------------------------------------------------------------------
    @classmethod
    def option(cls, name: str) -> Option:
        for opt in cls._all_options():
            if opt.name == name:
                return opt
        raise ConfigError(
            f"unknown option {name!r} for method {cls.name!r}; allowed: "
            f"{', '.join(o.name for o in cls._all_options())}"
        )

    @classmethod
    def _all_options(cls) -> tuple[Option, ...]:
        lr = Option("learning_rate", positive_float, cls.default_learning_rate, "AdamW learning rate")
        return (*cls.options, lr)

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        return tuple(o.name for o in cls._all_options())

    def parse(self, raw: Mapping[str, Any], graph: ModelGraph) -> dict[str, Any]:
        """Check every option against the model, fill defaults, then :meth:`check_combination`."""
        for name in raw:
            self.option(name)  # raises on unknown names
        self.check_model(graph)
        out: dict[str, Any] = {}
        for opt in self._all_options():
            if opt.name in raw:
                out[opt.name] = opt.parse(f"{self.name}.{opt.name}", raw[opt.name], graph)
            elif opt.default is not None:
                out[opt.name] = opt.parse(f"{self.name}.{opt.name}", opt.default, graph)
        self.check_combination(out, graph)
        return out

    def check_value(self, option: str, value: Any, graph: ModelGraph | None, *, per_layer: bool = False) -> None:
        """Check one candidate value of one option (used when checking a space)."""
        opt = self.option(option)
        parser = opt.element if per_layer else opt.parse
        if parser is None:
            raise ConfigError(f"option {self.name}.{option} does not take a value per layer")
        parser(f"{self.name}.{option}", value, graph)

    def check_model(self, graph: ModelGraph) -> None:
        """Raise MethodError when the method cannot apply to this model at all."""
        return None

    def check_combination(self, options: dict[str, Any], graph: ModelGraph) -> None:
        """Raise ConfigError when options conflict with each other."""
        return None

    def count_trainable(self, options: dict[str, Any], graph: ModelGraph) -> int | None:
        """Exact trainable parameters of ``build(options)`` from the graph's shapes, without building.

        ``None`` when this method has no closed form; callers then build on a weight-free skeleton.
        Every closed form is checked against the built model in tests/methods/test_counts.py.
        """
        return None

    def placements(self, options: dict[str, Any], graph: ModelGraph) -> dict[str, float]:
        """Module path -> strength (the rank for LoRA-like methods, 1 otherwise) of every block module this
        configuration adapts; ``{}`` when it adapts none inside the blocks (head only, soft prompts)."""
        return {}

    def merge_problem(self, model_kind: str | None) -> str | None:
        """Why this method's adapter cannot be folded into the weights of a model of ``model_kind``
        (``export --merge``), or ``None`` when it can."""
        return None

    # ---- building and saving -------------------------------------------------------------
    @abstractmethod
    def build(self, model: Any, graph: ModelGraph, options: dict[str, Any]) -> BuiltModel:
        """Wrap or unfreeze ``model`` in place; return the trainable model."""

    def save(self, built: BuiltModel, folder: Path) -> None:
        """Write the adapter (default: ``peft``'s ``save_pretrained``)."""
        built.model.save_pretrained(str(folder))


class PeftMethod(Method):
    """A method that is one ``peft`` config: subclasses implement :meth:`peft_config` only."""

    @abstractmethod
    def peft_config(self, options: dict[str, Any], graph: ModelGraph) -> Any:
        """The peft config for these (checked) options on this model."""

    def placements(self, options: dict[str, Any], graph: ModelGraph) -> dict[str, float]:
        """The modules peft adapts under this config (its own matching rule), each with strength 1."""
        if getattr(self.peft_config(options, graph), "target_modules", None) is None:
            return {}  # soft prompts and prefixes adapt no module
        from autopeft.methods.targets import matched_modules

        return dict.fromkeys(sorted(matched_modules(self.peft_config(options, graph),
                                                    [m.path for m in graph.modules()])), 1.0)

    def build(self, model: Any, graph: ModelGraph, options: dict[str, Any]) -> BuiltModel:
        from peft import get_peft_model

        config = save_head(self.peft_config(options, graph), graph)
        with quiet_peft():
            wrapped = get_peft_model(model, config)
        return BuiltModel(wrapped, self.name, options, config, options["learning_rate"])


_METHODS: dict[str, Method] = {}


def register_method(method: Method) -> Method:
    """Register a method instance under its ``name``; duplicates and bad names are refused."""
    name = getattr(method, "name", "")
    if not name or not name.replace("_", "").isalnum() or name != name.lower():
        raise ValueError(f"method name {name!r} must be lower-case letters, digits and '_'")
    if name in _METHODS:
        raise ValueError(f"method {name!r} is already registered")
    _METHODS[name] = method
    return method


def get_method(name: Any) -> Method:
    if name not in _METHODS:
        raise MethodError(f"unknown method {name!r}; allowed: {', '.join(method_names())}")
    return _METHODS[name]


def method_names() -> list[str]:
    return list(_METHODS)
