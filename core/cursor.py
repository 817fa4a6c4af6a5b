"""The one codec of pagination cursors: opaque to clients, a JSON list of strings inside."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from schema.errors import BadUserInput


def encode_cursor(*parts: Any) -> str:
    """Datetimes as ISO 8601, everything else as ``str``."""
    raw = json.dumps([p.isoformat() if isinstance(p, datetime) else str(p) for p in parts]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[str]:
    """The ``size`` parts of a cursor this API returned; BAD_USER_INPUT on ``after`` otherwise."""
    try:
        if not isinstance(cursor, str) or len(cursor) > 1024:
            raise ValueError
        parts = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(parts, list) or len(parts) != size or not all(isinstance(p, str) for p in parts):
            raise ValueError
        return parts
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadUserInput.for_fields({"after": "is not a cursor this API returned"}) from None
