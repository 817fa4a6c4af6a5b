"""The rag service."""

import os

# No progress bars in service logs (model loading, embedding batches): tqdm reads TQDM_DISABLE when
# it is imported, so this is set here, before anything under services.rag imports it.
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
