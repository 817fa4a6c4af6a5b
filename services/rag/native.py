"""The rag service's native libraries, imported here and only here, in this order.

ONNX Runtime must be loaded before USearch: the other way round the process
dies with SIGSEGV at the first ONNX Runtime import (measured with
onnxruntime 1.32 and usearch 2.26). Every rag module takes ``onnxruntime``,
``tantivy`` and ``usearch_index`` from this module, so no import order
elsewhere can get it wrong; ``tests/rag/test_native.py`` checks it in fresh
processes.

``without_pytorch`` keeps PyTorch out of the rag process: it stays installed
(the install-time export and the benchmarks' baseline use it), and Haystack
imports it eagerly whenever it is importable (its ``LazyImport`` only defers
the error of a *missing* package), which alone costs a few hundred MB.
"""

from __future__ import annotations

import importlib.abc
import sys

# In this order (alphabetical, so isort keeps it): onnxruntime first, usearch after it, always.
import onnxruntime
import tantivy
import usearch.index as usearch_index

__all__ = ["onnxruntime", "tantivy", "usearch_index", "without_pytorch"]

BLOCKED = ("torch", "sentence_transformers")


class _Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"{name} is kept out of the rag process (services/rag/native.py)", name=name)
        return None


def without_pytorch() -> None:
    """From now on ``import torch`` fails in this process (Haystack then runs without it).

    Call before anything imports Haystack: the rag service's dependency provider does.
    """
    if any(isinstance(finder, _Refuse) for finder in sys.meta_path):
        return
    loaded = [name for name in BLOCKED if name in sys.modules]
    if loaded:
        raise RuntimeError(f"{', '.join(loaded)} already imported: call without_pytorch() earlier")
    sys.meta_path.insert(0, _Refuse())
