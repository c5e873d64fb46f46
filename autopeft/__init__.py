"""autopeft: search the Pareto front of PEFT configurations (trainable parameters vs accuracy).

The pieces, in the words of DESIGN.md: a *space* (``autopeft.space``) checked against the
model's graph (``autopeft.model_graph``), *methods* that turn a configuration into a trainable
model (``autopeft.methods``), and *export* to a plain ``peft`` adapter folder (``autopeft.export``).
"""

__version__ = "0.1.0"
