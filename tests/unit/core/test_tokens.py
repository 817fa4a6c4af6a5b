"""Verified tokens are remembered until they expire; nothing else is."""

from __future__ import annotations

import pytest

from core import tokens
from core.settings import CommonSettings
from core.tokens import TokenCodec
from schema.errors import Unauthenticated


def codec() -> TokenCodec:
    return TokenCodec(CommonSettings(env="development"))


def test_a_verified_token_is_remembered_until_it_expires(monkeypatch):
    signer = codec()
    issued = signer.issue(subject="u1", role="user", session_id="s1", ttl=60)
    verifier = codec()
    claims = verifier.verify(issued.token)
    assert claims["sub"] == "u1"
    claims["role"] = "admin"  # a caller's copy: the remembered claims stay as signed
    assert verifier.verify(issued.token)["role"] == "user"
    assert len(verifier._verified) == 1

    now = tokens.time.time()
    monkeypatch.setattr(tokens.time, "time", lambda: now + 60 + tokens.LEEWAY_SECONDS + 1)
    with pytest.raises(Unauthenticated) as expired:
        verifier.verify(issued.token)
    assert expired.value.details["reason"] == "expired"
    assert not verifier._verified


def test_a_token_that_differs_by_one_character_is_verified_again():
    verifier = codec()
    token = codec().issue(subject="u1", role="user", session_id="s1").token
    verifier.verify(token)
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(Unauthenticated):
        verifier.verify(tampered)


def test_the_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(tokens, "VERIFIED_CACHE", 3)
    signer, verifier = codec(), codec()
    issued = [signer.issue(subject=f"u{n}", role="user", session_id="s").token for n in range(5)]
    for token in issued:
        verifier.verify(token)
    assert list(verifier._verified) == issued[2:]
