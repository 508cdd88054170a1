"""GraphQL fields for users: thin, each one calls one service function."""

from __future__ import annotations

import strawberry
from strawberry import Info

from app.api.connection import Connection
from app.api.mutations import mutate, provided
from app.api.payloads import DeletePayload, parse_id, parse_optional_id
from app.api.permissions import requires
from app.auth.roles import Permission
from app.errors import NotFound
from app.users import service
from app.users.types import (
    CreateUserInput,
    UpdateUserInput,
    UserFilter,
    UserOrderBy,
    UserPayload,
    UserType,
)


@strawberry.type
class Query:
    @strawberry.field(extensions=requires(Permission.USERS_READ))
    async def users(
        self,
        info: Info,
        filter: UserFilter | None = None,
        order_by: UserOrderBy | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> Connection[UserType]:
        order_by = order_by or UserOrderBy()
        db = info.context.db
        async with db.read() as session:
            page = await service.list_users(
                session,
                info.context.actor,
                filter=provided(filter) if filter else {},
                order=service.UserOrder(order_by.field),
                descending=order_by.descending,
                first=info.context.page_size(first),
                after=after,
                count_session=db.read,
            )
        return Connection.of(page, UserType.of)

    @strawberry.field(
        extensions=requires(Permission.USERS_READ),
        description="One user by id or by external id; null when there is none.",
    )
    async def user(
        self, info: Info, id: strawberry.ID | None = None, external_id: str | None = None
    ) -> UserType | None:
        try:
            async with info.context.db.read() as session:
                row = await service.get_user(
                    session,
                    info.context.actor,
                    user_id=parse_optional_id(id),
                    external_id=external_id,
                )
        except NotFound:
            return None
        return UserType.of(row)


@strawberry.type
class Mutation:
    @strawberry.mutation(extensions=requires(Permission.USERS_WRITE))
    async def create_user(self, info: Info, input: CreateUserInput) -> UserPayload:
        return await mutate(
            info,
            lambda session: service.create_user(session, data=provided(input)),
            ok=lambda row: UserPayload(user=UserType.of(row)),
            failed=UserPayload,
        )

    @strawberry.mutation(extensions=requires(Permission.USERS_WRITE))
    async def update_user(
        self, info: Info, id: strawberry.ID, input: UpdateUserInput
    ) -> UserPayload:
        return await mutate(
            info,
            lambda session: service.update_user(
                session, info.context.actor, user_id=parse_id(id), data=provided(input)
            ),
            ok=lambda row: UserPayload(user=UserType.of(row)),
            failed=UserPayload,
        )

    @strawberry.mutation(
        extensions=requires(Permission.USERS_WRITE),
        description="Deletes the user with their events, tags and survey answers.",
    )
    async def delete_user(self, info: Info, id: strawberry.ID) -> DeletePayload:
        return await mutate(
            info,
            lambda session: service.delete_user(session, info.context.actor, user_id=parse_id(id)),
            ok=DeletePayload.of,
            failed=DeletePayload,
        )
