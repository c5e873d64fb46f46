"""``autopeft spaces list|check`` and ``autopeft build``: look at spaces and configurations without training."""

from __future__ import annotations

import argparse
import json
from typing import Any

from autopeft.cli.common import parse_json
from autopeft.errors import AutopeftError, check_count
from autopeft.paths import find_space, space_dirs


def configure(sub: Any) -> None:
    """Add ``spaces`` and ``build`` to the top-level subparsers ``sub``."""
    spaces = sub.add_parser("spaces", help="list search spaces or check one against a model")
    spaces.set_defaults(func=cmd_spaces_list)  # a bare `autopeft spaces` lists them
    spaces_sub = spaces.add_subparsers(dest="spaces_command", parser_class=type(spaces))
    spaces_sub.add_parser("list", help="list the space files in ./spaces").set_defaults(func=cmd_spaces_list)
    check = spaces_sub.add_parser("check", help="check a space file against a model (no weights needed)")
    check.add_argument("file", help="a space YAML file or a listed space's name, e.g. spaces/minilm-layers.yaml or "
                                    "minilm-layers")
    check.add_argument("--model", required=True,
                       help="minilm, flan-t5-small|base|large|xl, a local folder or a Hub id")
    check.set_defaults(func=cmd_spaces_check)

    b = sub.add_parser("build", help="build one configuration on a model; print its parameter counts")
    b.add_argument("--model", required=True, help="minilm, a local folder or a Hub id")
    b.add_argument("--config", required=True, help="the configuration as JSON (or a .json file)")
    b.add_argument("--space", help="check the configuration is in this space first (a file or a listed name)")
    b.add_argument("--num-labels", type=int, default=None, help="classes of the head (encoders); default 2")
    b.add_argument("--out", help="also export the (untrained) adapter to this folder")
    b.set_defaults(func=cmd_build)


def cmd_spaces_list(args: argparse.Namespace) -> int:
    from autopeft.space import load_space

    files = sorted({p.resolve(): p for d in space_dirs() for p in d.glob("*.yaml")}.values())
    if not files:
        print("no space files found in ./spaces")
        return 0
    width = max(len(str(p.name)) for p in files)
    for path in files:
        try:
            spec = load_space(path)
            print(f"{path.name:<{width}}  {len(spec.dimensions):>2} dimensions  {spec.description or spec.name}")
        except AutopeftError as exc:
            print(f"{path.name:<{width}}  INVALID: {exc}")
    return 0


def cmd_spaces_check(args: argparse.Namespace) -> int:
    from autopeft.methods.checks import check_space_file

    print(check_space_file(find_space(args.file), args.model).text())
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    config = parse_json(args.config, "--config")
    check_count("--num-labels", args.num_labels, low=2)  # a head of one output is a regression, not a classifier
    result = build_configuration(args.model, config, space_file=args.space and find_space(args.space),
                                 num_labels=args.num_labels, out=args.out)
    print(json.dumps(result, indent=2))
    return 0


def build_configuration(model: str, config: Any, *, space_file: str | None = None, num_labels: int | None = None,
                        out: str | None = None) -> dict[str, Any]:
    """Load the model, (check the configuration is in the space,) build it, maybe export the untrained adapter."""
    from autopeft.methods import build, split_config
    from autopeft.methods.checks import check_space
    from autopeft.model.graph import ModelGraph
    from autopeft.model.loading import load_model
    from autopeft.space import load_space
    from autopeft.study.export import export

    split_config(config)  # fail on a malformed configuration before loading weights
    base = load_model(model, num_labels=num_labels)
    graph = ModelGraph.from_model(base)
    spec = None
    if space_file:
        spec = load_space(space_file)
        config = check_space(spec, graph, model).space.validate(config)
    built = build(base, config, graph)
    result: dict[str, Any] = {
        "model": model,
        "method": built.method,
        "trainable_params": built.trainable_params,
        "total_params": built.total_params,
        "trainable_percent": round(100.0 * built.trainable_params / built.total_params, 4),
        "options": dict(built.options.items()),
    }
    if out:
        result["exported_to"] = str(export(built, out, model_id=model, configuration=config, space=spec))
    return result
