"""Benchmarks. Run them as scripts (``python bench/rpc.py``); see bench/README.md."""
