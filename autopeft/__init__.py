"""autopeft: search the Pareto front of PEFT configurations (trainable parameters vs accuracy).

See ``docs/architecture.md`` for the floor plan: ``space`` and ``model`` at the bottom, ``methods`` and
``controllers`` above them, the ``runner`` that trains, the ``study`` that runs a search through an engine,
``bench`` and ``report`` reading studies, the ``cli`` on top. Importing this package imports no torch.
"""

from autopeft.version import __version__

__all__ = ["__version__"]
