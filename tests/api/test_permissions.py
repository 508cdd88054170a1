"""Every root field is guarded, and each role reaches exactly what its permissions allow.

The operations are generated from the schema itself (minimal valid arguments, `__typename`
as the selection), so a new root field is covered without editing this file.
"""

from __future__ import annotations

from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLType,
    Undefined,
)
from strawberry.permission import PermissionExtension

from app.api.permissions import Requires
from app.api.sdl import schema
from app.auth.models import Role
from app.auth.roles import ROLE_PERMISSIONS
from tests.conftest import GraphQLClient

PUBLIC_FIELDS = {("Query", "viewer")}  # answers "who am I", or says the key is missing
SCALAR_SAMPLES = {
    "ID": "1",
    "String": "x",
    "Int": 1,
    "Float": 1.0,
    "Boolean": False,
    "JSON": {},
    "DateTime": "2026-01-01T00:00:00+00:00",
    "Date": "2026-01-01",
    "Decimal": "1",
}


def _sample(graphql_type: GraphQLType) -> Any:
    if isinstance(graphql_type, GraphQLNonNull):
        return _sample(graphql_type.of_type)
    if isinstance(graphql_type, GraphQLList):
        return [_sample(graphql_type.of_type)]
    if isinstance(graphql_type, GraphQLEnumType):
        return next(iter(graphql_type.values))
    if isinstance(graphql_type, GraphQLInputObjectType):
        return {
            name: _sample(field.type)
            for name, field in graphql_type.fields.items()
            if isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined
        }
    assert isinstance(graphql_type, GraphQLScalarType)
    return SCALAR_SAMPLES[graphql_type.name]


def _operation(kind: str, name: str, field: GraphQLField) -> tuple[str, dict[str, Any]]:
    required = {
        arg_name: arg
        for arg_name, arg in field.args.items()
        if isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined
    }
    declared = "".join(f"${a}: {arg.type}, " for a, arg in required.items()).rstrip(", ")
    passed = ", ".join(f"{a}: ${a}" for a in required)
    document = (
        f"{kind} {'(' + declared + ')' if declared else ''} "
        f"{{ {name}{'(' + passed + ')' if passed else ''} {{ __typename }} }}"
    )
    return document, {a: _sample(arg.type) for a, arg in required.items()}


def _root_fields() -> list[tuple[str, str, GraphQLField]]:
    graphql_schema = schema._schema
    roots = [("query", graphql_schema.query_type), ("mutation", graphql_schema.mutation_type)]
    return [
        (kind, name, field)
        for kind, root in roots
        if root is not None
        for name, field in root.fields.items()
    ]


def _required_permission(root: str, field_name: str) -> Any:
    definition = schema.get_type_by_name(root)
    for field in definition.fields:  # type: ignore[union-attr]
        if field.python_name and schema.config.name_converter.get_graphql_name(field) == field_name:
            for extension in field.extensions:
                if isinstance(extension, PermissionExtension):
                    (permission,) = extension.permissions
                    assert isinstance(permission, Requires)
                    return permission.permission
    return None


ROOT_FIELDS = _root_fields()


def test_every_root_field_but_viewer_declares_a_permission() -> None:
    unguarded = {
        (kind.title(), name)
        for kind, name, _ in ROOT_FIELDS
        if _required_permission(kind.title(), name) is None
    }
    assert unguarded == PUBLIC_FIELDS


@pytest.mark.parametrize(
    ("kind", "name", "field"), ROOT_FIELDS, ids=[f"{k}.{n}" for k, n, _ in ROOT_FIELDS]
)
async def test_each_role_reaches_a_root_field_exactly_when_permitted(
    gql: GraphQLClient, kind: str, name: str, field: GraphQLField
) -> None:
    document, variables = _operation(kind, name, field)
    permission = _required_permission(kind.title(), name)
    anonymous = await gql(document, variables, role=None)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", anonymous
    for role in Role:
        body = await gql(document, variables, role=role.value)
        codes = {e.get("extensions", {}).get("code") for e in body.get("errors", [])}
        allowed = permission is None or permission in ROLE_PERMISSIONS[role]
        if allowed:
            assert not codes & {"FORBIDDEN", "UNAUTHENTICATED"}, (role, body)
            assert "INTERNAL" not in codes, (role, body)
        else:
            assert codes == {"FORBIDDEN"}, (role, body)
            assert body["data"] is None or body["data"].get(name) is None


async def test_a_wrong_key_is_told_apart_from_a_missing_one(gql: GraphQLClient) -> None:
    response = await gql.http.post(
        "/graphql",
        json={"query": "{ viewer { role } }"},
        headers={"Authorization": "Bearer og_not-a-real-key"},
    )
    assert response.json()["errors"][0]["message"] == "invalid or revoked API key"
    missing = await gql("{ viewer { role } }", role=None)
    assert missing["errors"][0]["message"].startswith("missing API key")


async def test_a_revoked_key_fails_on_the_next_request(gql: GraphQLClient) -> None:
    created = await gql.data(
        'mutation { createApiKey(name: "temp", role: AGENT) { apiKey { id } secret } }'
    )
    secret = created["createApiKey"]["secret"]
    gql.keys["temp"] = secret
    assert (await gql.data("{ viewer { role } }", role="temp"))["viewer"]["role"] == "AGENT"
    await gql.data(
        "mutation($id: ID!) { revokeApiKey(id: $id) { apiKey { revokedAt } } }",
        {"id": created["createApiKey"]["apiKey"]["id"]},
    )
    body = await gql("{ viewer { role } }", role="temp")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
