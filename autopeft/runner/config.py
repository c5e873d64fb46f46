"""How a trial trains, apart from its configuration and fidelity: batch sizes, lengths, schedule, device."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from autopeft.errors import TrialError

DEVICES = ("auto", "cpu", "cuda")
#: Model types whose position ids start after the padding index, so two learned positions are never used.
OFFSET_POSITIONS = ("roberta", "xlm-roberta", "camembert")


@dataclass(frozen=True)
class TrainingConfig:
    """Training settings shared by every trial of a search (a recipe's ``training:`` section)."""

    batch_size: int = 16            # training examples per optimiser step
    eval_batch_size: int = 64       # examples per forward pass when evaluating
    max_length: int = 128           # input tokens (longer inputs are truncated)
    target_max_length: int = 16     # target / verbaliser tokens (seq2seq)
    warmup_ratio: float = 0.06      # linear warm-up over this share of the steps, then linear decay to 0
    weight_decay: float = 0.0       # AdamW weight decay
    max_grad_norm: float = 1.0      # gradient clipping (0 = off)
    device: str = "auto"            # auto: CUDA with bf16 when present, else CPU
    log_every: int = 0              # training loss every N steps (0 = about 20 points per trial)
    curve_fractions: tuple[float, ...] = (0.25, 0.5, 1.0)  # validation score at these shares of the steps
    ece_bins: int = 15              # equal-width bins for ECE / MCE / reliability diagrams
    partial_examples: int = 100     # the curve's points before the end are scored on this many validation
                                    # examples, a fixed seeded subset (0: the whole split); the end on all of it

    def __post_init__(self) -> None:
        for name in ("batch_size", "eval_batch_size", "max_length", "target_max_length", "ece_bins"):
            _positive_int(name, getattr(self, name))
        for name in ("log_every", "partial_examples"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise TrialError(f"training.{name} must be an integer >= 0, got {value!r}")
        for name, low, high in (("warmup_ratio", 0.0, 1.0), ("weight_decay", 0.0, 1.0)):
            _number_in(name, getattr(self, name), low, high)
        _number_in("max_grad_norm", self.max_grad_norm, 0.0, float("inf"))
        if self.device not in DEVICES:
            raise TrialError(f"training.device {self.device!r} is not allowed; allowed: {', '.join(DEVICES)}")
        fractions = tuple(self.curve_fractions)
        if not fractions or any(isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 < f <= 1
                                for f in fractions):
            raise TrialError(f"training.curve_fractions must be numbers in (0, 1], got {self.curve_fractions!r}")
        object.__setattr__(self, "curve_fractions", tuple(sorted({float(f) for f in fractions} | {1.0})))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise TrialError(f"unknown training setting(s) {', '.join(unknown)}; allowed: {', '.join(sorted(known))}")
        values = dict(data)
        if "curve_fractions" in values and isinstance(values["curve_fractions"], list):
            values["curve_fractions"] = tuple(values["curve_fractions"])
        return cls(**values)

    def check_model(self, model_config: Any, *, prompt_tokens: int = 0) -> None:
        """Refuse a ``max_length`` above the model's learned positions (``max_position_embeddings``; RoBERTa's
        two reserved ones off), which would fail every trial on the first long input. Relative positions (T5)
        have no such limit. ``prompt_tokens`` virtual tokens (prompt tuning's ``num_virtual_tokens``) come before
        the input and take positions too: with them, a long input fails where a short one happens to pass."""
        positions = getattr(model_config, "max_position_embeddings", None)
        if not isinstance(positions, int) or isinstance(positions, bool):
            return
        limit = positions - 2 if getattr(model_config, "model_type", "") in OFFSET_POSITIONS else positions
        if self.max_length > limit:
            raise TrialError(f"training.max_length {self.max_length} is more input tokens than this model has "
                             f"positions for; allowed: at most {limit}")
        if self.max_length + prompt_tokens > limit:
            raise TrialError(f"training.max_length {self.max_length} plus {prompt_tokens} prompt-tuning virtual "
                             f"tokens (prompt_tuning.num_virtual_tokens) is more input tokens than this model has "
                             f"positions for ({limit}); allowed: max_length + num_virtual_tokens at most {limit}")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["curve_fractions"] = list(self.curve_fractions)
        return data


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise TrialError(f"training.{name} must be an integer >= 1, got {value!r}")


def _number_in(name: str, value: Any, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise TrialError(f"training.{name} must be a number in [{low}, {high}], got {value!r}")
