"""``me`` at the edge builds ``User`` from ``UserOut``'s fields directly (gateway/graphql/auth/queries.py):
it must give what ``from_pydantic`` gives, which holds while ``UserOut`` stays flat."""

from __future__ import annotations

import dataclasses

from gateway.graphql.auth.types import User
from schema import auth


def test_user_from_the_models_fields_is_what_from_pydantic_builds():
    model = auth.UserOut.model_validate(
        {
            "id": "u1",
            "username": "ada",
            "email": None,
            "role": "admin",
            "active": True,
            "permissions": ["read:rag", "write:rag"],
            "created_at": "2026-12-06T09:00:00+00:00",
        }
    )
    direct, converted = User(**model.__dict__), User.from_pydantic(model)
    assert direct == converted
    assert {f.name for f in dataclasses.fields(User)} == set(auth.UserOut.model_fields)
