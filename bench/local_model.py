"""Benchmark: the local model's tokens/s, raw and through the agent's model process.

* **raw**: ``llama_cpp.Llama`` in this process, the same settings the agent uses
  (2048 context, ``AGENTHUB_LLM_LOCAL_THREADS`` threads), streaming a completion.
* **agent**: ``services.agent.llm.LocalModel``, which runs the same model in its
  own process (``services/agent/model_worker.py``) so a crash of llama.cpp
  cannot end the agent; each piece crosses a pipe as one JSON line.

Both generate the same number of tokens from the same prompt at temperature 0,
with no stop sequence, in alternating rounds; the model is loaded before timing.
It prints tokens/s of each and the ratio agent/raw (target ≥ 0.9: the process
boundary costs little next to inference).

Usage::

    .venv/bin/python bench/local_model.py [--tokens 128] [--rounds 3] [--check]

Exit status 0 (it is a benchmark), or with ``--check`` 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

PROMPT = (
    "Context: Honey bees dance to tell other bees where the flowers are. The dance points the way and "
    "its length says how far.\nQuestion: How do bees tell each other where flowers are?\nAnswer:"
)
TARGET = 0.9


def raw_round(llama, tokens: int) -> tuple[int, float]:
    started, count = time.perf_counter(), 0
    for _ in llama(PROMPT, max_tokens=tokens, stream=True, temperature=0.0, stop=[]):
        count += 1
    return count, time.perf_counter() - started


def agent_round(model, tokens: int) -> tuple[int, float]:
    model.max_tokens = tokens
    started, count = time.perf_counter(), 0
    for _ in model.stream(PROMPT, stop=[]):
        count += 1
    return count, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()

    from services.agent.config import AgentSettings
    from services.agent.llm import LocalModel, local_installed
    from services.agent.model_worker import _load

    if not local_installed():
        print("the local model is not installed: pip install 'agenthub[local]'", file=sys.stderr)
        return 2
    settings = AgentSettings(env="development", llm_temperature=0.0, llm_max_tokens=args.tokens)
    llama = _load(settings.llm_local_model_path or "", settings.llm_local_threads)
    model = LocalModel(settings)
    model.warm_up()
    raw_round(llama, 8), agent_round(model, 8)  # warm caches on both sides

    rates: dict[str, list[float]] = {"raw": [], "agent": []}
    try:
        for n in range(args.rounds):
            order = [("raw", raw_round, llama), ("agent", agent_round, model)]
            for name, run, target in order if n % 2 == 0 else order[::-1]:
                count, seconds = run(target, args.tokens)
                rates[name].append(count / seconds)
    finally:
        model.close()

    raw, agent = statistics.median(rates["raw"]), statistics.median(rates["agent"])
    ratio = agent / raw
    print(f"{'':8}{'tokens/s (median of ' + str(args.rounds) + ')':>28}")
    print(f"{'raw':8}{raw:28.1f}")
    print(f"{'agent':8}{agent:28.1f}")
    verdict = "ok" if ratio >= TARGET else "MISS"
    print(f"agent/raw = {ratio:.2f}  (target >= {TARGET})  {verdict}")
    return 1 if args.check and verdict == "MISS" else 0


if __name__ == "__main__":
    sys.exit(main())
