"""The OpenAPI 3.1 document of the REST API, generated from the route declarations (never written by hand)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from core import __version__
from gateway.rest import models
from gateway.rest.api import MAX_FILES, SERVICE_NAMES, RestRoute

REF = "#/components/schemas/{model}"
PATH_PARAM = re.compile(r"{(\w+)}")


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _error(model: type[BaseModel], description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": _ref(model)}}}
    if headers:
        response["headers"] = headers
    return response


def _operation(route: RestRoute) -> dict[str, Any]:
    key_model = models.ErrorMessage if route.message_key == "message" else models.ErrorBody
    operation: dict[str, Any] = {
        "operationId": route.name,
        "summary": route.summary,
        "description": f"Deprecated but supported. GraphQL equivalent: `{route.graphql}`.",
        "deprecated": True,
        "tags": [route.service],
        "responses": {
            str(route.status): {
                "description": "Success",
                "content": {"application/json": {"schema": _ref(route.response)}},
            },
            "429": _error(
                models.ErrorMessage,
                "Rate limited",
                {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}},
            ),
        },
    }
    responses = operation["responses"]
    if route.body is not None or route.multipart or "{" in route.path:
        responses["400"] = _error(key_model, "Validation error: …")
    if route.body is not None or route.multipart:
        responses["413"] = _error(key_model, "Body over the limit")
    if route.needs_token:
        operation["security"] = [{"bearer": []}, {"apiKey": []}]
        responses["401"] = _error(models.ErrorMessage, "Token is missing! / Token is invalid or expired!")
    if route.permission is not None:
        operation["x-permission"] = route.permission.value
        responses["403"] = _error(models.ErrorMessage, "Insufficient permissions!")
    for status, message in route.errors.values():
        responses.setdefault(str(status), _error(key_model, message))
    if route.service != "gateway":
        responses["503"] = _error(models.ErrorBody, f"{SERVICE_NAMES[route.service]} service unavailable")
    params = PATH_PARAM.findall(route.path)
    if params:
        operation["parameters"] = [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}} for p in params
        ]
    if route.body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(route.body)}}}
    if route.multipart:
        operation["requestBody"] = {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": _ref(models.MultipartFiles),
                    "encoding": {"files": {"contentType": "application/octet-stream"}},
                }
            },
        }
    return operation


def document(routes: Iterable[RestRoute]) -> dict[str, Any]:
    routes = list(routes)
    used: set[type[BaseModel]] = {models.ErrorMessage, models.ErrorBody, models.MultipartFiles}
    for route in routes:
        used.add(route.response)
        if route.body is not None:
            used.add(route.body)
    ordered = sorted(used, key=lambda m: m.__name__)
    _, schemas = models_json_schema(
        [(m, "validation" if m.__name__.endswith("Request") else "serialization") for m in ordered], ref_template=REF
    )
    components = dict(schemas.get("$defs", {}))
    files = components.get("MultipartFiles", {}).get("properties", {}).get("files")
    if files is not None:  # binary parts, not base64 strings
        files["items"] = {"type": "string", "format": "binary"}
        files["maxItems"] = MAX_FILES
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "AgentHub REST API (deprecated, supported)",
            "version": __version__,
            "description": "The previous system's REST API, kept so existing clients work. New clients use "
            "GraphQL at /graphql; docs/rest.md maps each route to its GraphQL operation.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from /auth/login, or an API key (ah_…). "
                    "A bare token without 'Bearer ' is accepted too.",
                },
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
    }
