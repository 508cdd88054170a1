"""The committed SDL and the example client operations match the schema the server serves."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import parse, validate

from app.api.sdl import schema
from tests.conftest import ROOT

OPERATIONS = sorted((ROOT / "schema" / "operations").glob("*.graphql"))


def test_schema_file_is_up_to_date() -> None:
    committed = (ROOT / "schema" / "schema.graphql").read_text(encoding="utf-8")
    assert committed.strip() == schema.as_str().strip(), "run `make schema` and commit the result"


def test_there_are_operations_for_each_kind_of_client() -> None:
    assert {p.stem for p in OPERATIONS} >= {
        "dashboard",
        "agent_faq_search",
        "integration_segment_export",
    }


@pytest.mark.parametrize("path", OPERATIONS, ids=[p.name for p in OPERATIONS])
def test_client_operations_validate_against_the_schema(path: Path) -> None:
    errors = validate(schema._schema, parse(path.read_text(encoding="utf-8")))
    assert errors == []
