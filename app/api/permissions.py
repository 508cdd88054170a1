"""Root fields declare the permission they need; the check runs before the resolver."""

from __future__ import annotations

from typing import Any

from strawberry import Info
from strawberry.extensions import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension

from app.api.errors import ClientError
from app.auth.roles import Permission


class Requires(BasePermission):
    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        actor = info.context.actor
        if actor is None:
            raise ClientError(info.context.auth_problem, "UNAUTHENTICATED")
        if not actor.can(self.permission):
            raise ClientError(
                f"role '{actor.role.value}' may not do this (needs '{self.permission.value}')",
                "FORBIDDEN",
                permission=self.permission.value,
            )
        return True


def requires(permission: Permission) -> list[FieldExtension]:
    return [PermissionExtension(permissions=[Requires(permission)], use_directives=False)]
