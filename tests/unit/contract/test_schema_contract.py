"""schema/schema.graphql is the exported contract: it must match the code."""

from pathlib import Path

from strawberry.printer import print_schema

from gateway.graphql.schema import schema

SDL = Path(__file__).resolve().parents[3] / "schema" / "schema.graphql"


def test_exported_sdl_matches_the_code():
    assert SDL.exists(), "run: agenthub export-schema -o schema/schema.graphql"
    assert SDL.read_text() == print_schema(schema) + "\n", (
        "schema/schema.graphql is stale: run `make schema` (agenthub export-schema -o schema/schema.graphql)"
    )
