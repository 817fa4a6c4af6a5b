"""The foundation every process shares: settings, tokens, rate limits, logs, metrics, traces, Redis.

Layers point one way: ``schema`` (the contract) ← ``core`` ← ``services``, ``gateway`` ← ``agenthub``
(the command line and the supervisor, which nothing imports). ``tests/unit/test_layers.py`` checks it.
"""

__version__ = "0.1.0"
