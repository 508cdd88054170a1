"""Rules every service input follows: no NUL characters, plausible dates."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import Field

from app.errors import ValidationFailed
from app.validation import Input, parse
from tests.conftest import GraphQLClient


class Sample(Input):
    name: str
    tags: list[str] = Field(default_factory=list)
    properties: dict[str, object] = Field(default_factory=dict)
    day: date | None = None


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "a\x00b"}, "input.name"),
        ({"name": "ok", "tags": ["fine", "bad\x00"]}, "input.tags"),
        ({"name": "ok", "properties": {"k\x00": "v"}}, "input.properties"),
        ({"name": "ok", "day": "0001-01-01"}, "input.day"),
        ({"name": "ok", "day": "9999-12-31"}, "input.day"),
    ],
)
def test_nul_characters_and_implausible_dates_are_refused_with_their_path(
    data: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse(Sample, data, prefix="input")
    assert [p.field for p in refused.value.problems] == [field]


def test_ordinary_text_and_dates_pass() -> None:
    parsed = parse(Sample, {"name": "王伟 \\ %_", "day": "2026-11-23"})
    assert (parsed.name, parsed.day) == ("王伟 \\ %_", date(2026, 11, 23))


async def test_a_nul_in_a_mutation_is_a_validation_error_on_every_database(
    gql: GraphQLClient,
) -> None:
    body = await gql.data(
        'mutation { createUser(input: {externalId: "u1", name: "a\\u0000b"}) { userErrors { field code } } }'
    )
    assert body["createUser"]["userErrors"] == [{"field": "input.name", "code": "VALIDATION"}]
