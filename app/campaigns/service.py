"""Campaigns: validation, the planned → running → ended lifecycle, A/B variant assignment,
and participations and conversions recorded once per user."""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from itertools import accumulate
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, Field
from pydantic.alias_generators import to_camel
from sqlalchemy import case, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.service import Actor
from app.campaigns.models import (
    Campaign,
    CampaignConversion,
    CampaignForm,
    CampaignGoal,
    CampaignParticipation,
    CampaignStatus,
    CampaignVariant,
)
from app.errors import Conflict, FieldProblem, NotFound, ValidationFailed
from app.money import to_cents
from app.pagination import Ordering, Page, paginate
from app.segments import service as segments
from app.segments.models import Segment
from app.sqltypes import utcnow
from app.users.service import UserReference, find_user_id
from app.validation import Input, Key, Name, RowId, parse

Record = TypeVar("Record", CampaignParticipation, CampaignConversion)

MAX_VARIANTS = 20
# Quantized so a returned amount reads as stored: "10" comes back as "10.00".
Money = Annotated[
    Decimal,
    Field(ge=0, max_digits=14, decimal_places=2),
    AfterValidator(to_cents),
]


class CampaignChannel(StrEnum):
    IN_APP_POPUP = "in_app_popup"
    SOCIAL = "social"
    SMS = "sms"
    EMAIL = "email"


class VariantFields(Input):
    key: Key
    name: Name
    description: str = Field(default="", max_length=2000)
    weight: int = Field(default=1, ge=0, le=1_000_000)
    is_control: bool = False


class CampaignFields(Input):
    theme: str = Field(default="", max_length=2000)
    channels: list[CampaignChannel] = Field(default_factory=list)
    target_segment_key: str | None = None
    budget: Money = Decimal(0)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    variants: list[VariantFields] = Field(default_factory=list, max_length=MAX_VARIANTS)


class CampaignCreate(CampaignFields):
    key: Key
    name: Name
    goal: CampaignGoal
    form: CampaignForm


class CampaignUpdate(CampaignFields):
    key: Key | None = None
    name: Name | None = None
    goal: CampaignGoal | None = None
    form: CampaignForm | None = None


# Optional in CampaignUpdate only so that an update may leave them out: null is refused.
NOT_NULL = ("key", "name", "goal", "form")
# Once a campaign runs, participants have seen it: only these may still change.
RUNNING_EDITABLE = frozenset({"name", "theme", "budget", "ends_at"})


class CampaignFilter(Input):
    status: CampaignStatus | None = None
    goal: CampaignGoal | None = None
    form: CampaignForm | None = None
    starts_from: datetime | None = None
    starts_to: datetime | None = None


async def get_campaign(
    session: AsyncSession,
    *,
    campaign_id: int | None = None,
    key: str | None = None,
    lock: bool = False,
) -> Campaign:
    """One campaign by id or key; `lock` holds its row until the transaction ends, so a
    status change and the writes that depend on the status cannot interleave."""
    if (campaign_id is None) == (key is None):
        raise NotFound("give exactly one of id and key", field="id")
    stmt = select(Campaign).where(
        Campaign.id == campaign_id if campaign_id is not None else Campaign.key == key
    )
    if lock:
        stmt = stmt.with_for_update()
    campaign = await session.scalar(stmt)
    if campaign is None:
        what = f"id {campaign_id}" if campaign_id is not None else f"key {key!r}"
        raise NotFound(f"no campaign with {what}", field="id")
    return campaign


async def list_campaigns(
    session: AsyncSession,
    *,
    filter: dict[str, Any],
    first: int,
    after: str | None,
    count_session: Callable[[], Any],
) -> Page[Campaign]:
    criteria = parse(CampaignFilter, filter, prefix="filter")
    stmt = select(Campaign)
    for column, value in (
        (Campaign.status, criteria.status),
        (Campaign.goal, criteria.goal),
        (Campaign.form, criteria.form),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if criteria.starts_from is not None:
        stmt = stmt.where(Campaign.starts_at >= criteria.starts_from)  # type: ignore[operator]
    if criteria.starts_to is not None:
        stmt = stmt.where(Campaign.starts_at <= criteria.starts_to)  # type: ignore[operator]
    return await paginate(
        session,
        stmt,
        ordering=Ordering((Campaign.created_at, Campaign.id), descending=True),  # type: ignore[arg-type]
        first=first,
        after=after,
        count_session=count_session,
    )


def _variant_problems(variants: Sequence[VariantFields]) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    seen: set[str] = set()
    for index, variant in enumerate(variants):
        if variant.key in seen:
            problems.append(
                FieldProblem(
                    f"input.variants.{index}.key", f"duplicate variant key {variant.key!r}"
                )
            )
        seen.add(variant.key)
    if sum(v.is_control for v in variants) > 1:
        problems.append(FieldProblem("input.variants", "at most one variant can be the control"))
    if variants and sum(v.weight for v in variants) == 0:
        problems.append(FieldProblem("input.variants", "variant weights must sum to more than 0"))
    return problems


def _date_problems(campaign: Campaign, changed: set[str]) -> list[FieldProblem]:
    starts_at, ends_at = campaign.starts_at, campaign.ends_at
    if starts_at is not None and ends_at is not None and starts_at >= ends_at:
        # Blame the date the client just set; on create (nothing "changed") the end.
        only_start = "starts_at" in changed and "ends_at" not in changed
        field = "input.startsAt" if only_start else "input.endsAt"
        return [FieldProblem(field, "startsAt must be before endsAt")]
    return []


def _raise_any(problems: list[FieldProblem]) -> None:
    if problems:
        raise ValidationFailed.of(problems)


async def _segment_id(session: AsyncSession, key: str | None) -> int | None:
    if key is None:
        return None
    segment_id = await session.scalar(select(Segment.id).where(Segment.key == key))
    if segment_id is None:
        raise ValidationFailed(f"no segment with key {key!r}", field="input.targetSegmentKey")
    return segment_id


async def _key_taken(session: AsyncSession, key: str, *, other_than: int | None = None) -> None:
    stmt = select(Campaign.id).where(Campaign.key == key)
    if other_than is not None:
        stmt = stmt.where(Campaign.id != other_than)
    if await session.scalar(stmt) is not None:
        raise Conflict(f"a campaign with key {key!r} exists", field="input.key")


async def _flush_unique_key(session: AsyncSession, key: str) -> None:
    try:
        await session.flush()
    except IntegrityError:  # a concurrent write won the race for the key
        raise Conflict(f"a campaign with key {key!r} exists", field="input.key") from None


async def _replace_variants(
    session: AsyncSession, campaign_id: int, variants: Sequence[VariantFields]
) -> None:
    await session.execute(
        delete(CampaignVariant).where(CampaignVariant.campaign_id == campaign_id)  # type: ignore[arg-type]
    )
    if variants:
        await session.execute(
            insert(CampaignVariant),
            [{"campaign_id": campaign_id, **v.model_dump()} for v in variants],
        )


def _channels(channels: Sequence[CampaignChannel]) -> list[str]:
    return [c.value for c in dict.fromkeys(channels)]


async def create_campaign(session: AsyncSession, *, data: dict[str, Any]) -> Campaign:
    fields = parse(CampaignCreate, data, prefix="input")
    campaign = Campaign(
        **fields.model_dump(exclude={"variants", "target_segment_key", "channels"}),
        channels=_channels(fields.channels),
    )
    _raise_any(_variant_problems(fields.variants) + _date_problems(campaign, set()))
    campaign.target_segment_id = await _segment_id(session, fields.target_segment_key)
    await _key_taken(session, fields.key)
    session.add(campaign)
    await _flush_unique_key(session, fields.key)
    assert campaign.id is not None
    await _replace_variants(session, campaign.id, fields.variants)
    return campaign


def _check_running_changes(changes: dict[str, Any]) -> None:
    locked = sorted(changes.keys() - RUNNING_EDITABLE)
    if locked:
        raise Conflict(
            "a running campaign only allows changes to name, theme, budget and endsAt",
            field=f"input.{to_camel(locked[0])}",
        )
    if "ends_at" in changes:
        ends_at = changes["ends_at"]
        if ends_at is None:
            raise ValidationFailed("a running campaign needs endsAt", field="input.endsAt")
        if ends_at <= utcnow():
            raise ValidationFailed(
                "endsAt of a running campaign must be in the future; endCampaign ends it now",
                field="input.endsAt",
            )


async def update_campaign(
    session: AsyncSession, *, campaign_id: int, data: dict[str, Any]
) -> Campaign:
    """Planned campaigns change freely (variants are replaced wholesale); running ones
    only in name, theme, budget and end; ended and cancelled ones not at all."""
    campaign = await get_campaign(session, campaign_id=campaign_id, lock=True)
    if campaign.status in (CampaignStatus.ENDED, CampaignStatus.CANCELLED):
        raise Conflict(f"{campaign.status} campaigns are read-only")
    fields = parse(CampaignUpdate, data, prefix="input")
    changes = fields.model_dump(exclude_unset=True)
    for required in NOT_NULL:
        if required in changes and changes[required] is None:
            raise ValidationFailed(f"{required} cannot be null", field=f"input.{required}")
    if campaign.status == CampaignStatus.RUNNING:
        _check_running_changes(changes)
    if "key" in changes:
        await _key_taken(session, changes["key"], other_than=campaign_id)
    variants = fields.variants if "variants" in changes else None
    changes.pop("variants", None)
    if "channels" in changes:
        changes["channels"] = _channels(fields.channels)
    if "target_segment_key" in changes:
        campaign.target_segment_id = await _segment_id(session, changes.pop("target_segment_key"))
    for name, value in changes.items():
        setattr(campaign, name, value)
    _raise_any(_variant_problems(variants or []) + _date_problems(campaign, set(changes)))
    campaign.updated_at = utcnow()
    await _flush_unique_key(session, campaign.key)
    if variants is not None:
        await _replace_variants(session, campaign_id, variants)
    return campaign


async def delete_campaign(session: AsyncSession, *, campaign_id: int) -> int:
    campaign = await get_campaign(session, campaign_id=campaign_id, lock=True)
    if campaign.status not in (CampaignStatus.PLANNED, CampaignStatus.CANCELLED):
        raise Conflict(
            f"only planned or cancelled campaigns can be deleted; this one is {campaign.status}"
        )
    await session.delete(campaign)
    return campaign_id


async def _move(
    session: AsyncSession,
    campaign_id: int,
    *,
    verb: str,
    allowed: frozenset[CampaignStatus],
    to: CampaignStatus,
    check: Callable[[AsyncSession, Campaign], Awaitable[None]] | None = None,
) -> Campaign:
    campaign = await get_campaign(session, campaign_id=campaign_id, lock=True)
    if campaign.status not in allowed:
        raise Conflict(f"cannot {verb} a {campaign.status} campaign")
    if check is not None:
        await check(session, campaign)
    campaign.status = to
    campaign.updated_at = utcnow()
    return campaign


async def _ready_to_launch(session: AsyncSession, campaign: Campaign) -> None:
    if campaign.starts_at is None or campaign.ends_at is None:
        raise Conflict("set startsAt and endsAt before launching")
    if campaign.ends_at <= utcnow():
        raise Conflict("endsAt has passed; move it before launching")
    variants, controls = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(case((CampaignVariant.is_control, 1), else_=0)), 0),
            ).where(CampaignVariant.campaign_id == campaign.id)
        )
    ).one()
    if variants > 1 and controls != 1:
        raise Conflict("an A/B test (more than one variant) needs one control variant")


async def launch_campaign(session: AsyncSession, *, campaign_id: int) -> Campaign:
    """planned → running. A campaign with no target segment is open to all users; the
    target segment's members are snapshotted, the audience the evaluation measures
    participation and activity against (members may come and go while it runs)."""
    campaign = await _move(
        session,
        campaign_id,
        verb="launch",
        allowed=frozenset({CampaignStatus.PLANNED}),
        to=CampaignStatus.RUNNING,
        check=_ready_to_launch,
    )
    if campaign.target_segment_id is not None:
        segment = await segments.get_segment(session, segment_id=campaign.target_segment_id)
        await segments.snapshot_segment(session, None, key=segment.key)
    return campaign


async def end_campaign(session: AsyncSession, *, campaign_id: int) -> Campaign:
    return await _move(
        session,
        campaign_id,
        verb="end",
        allowed=frozenset({CampaignStatus.RUNNING}),
        to=CampaignStatus.ENDED,
    )


async def cancel_campaign(session: AsyncSession, *, campaign_id: int) -> Campaign:
    return await _move(
        session,
        campaign_id,
        verb="cancel",
        allowed=frozenset({CampaignStatus.PLANNED, CampaignStatus.RUNNING}),
        to=CampaignStatus.CANCELLED,
    )


# --- participations and conversions -------------------------------------------------


class ParticipationInput(UserReference):
    campaign_id: RowId
    variant_key: str | None = None


class ConversionInput(UserReference):
    campaign_id: RowId
    revenue: Money | None = None


@dataclass(frozen=True)
class Recorded(Generic[Record]):
    record: Record
    created: bool  # False when the user was already recorded: a retry changes nothing


async def _running_campaign(session: AsyncSession, campaign_id: int) -> Campaign:
    # A shared lock: many participations may proceed together, but endCampaign (which
    # locks exclusively) waits for them, so nothing is recorded after the end commits.
    campaign = await session.scalar(
        select(Campaign).where(Campaign.id == campaign_id).with_for_update(read=True)
    )
    if campaign is None:
        raise NotFound(f"no campaign with id {campaign_id}", field="input.campaignId")
    if campaign.status != CampaignStatus.RUNNING:
        raise Conflict(f"the campaign is {campaign.status}, not running", field="input.campaignId")
    now = utcnow()
    assert campaign.starts_at is not None and campaign.ends_at is not None  # set at launch
    if not campaign.starts_at <= now <= campaign.ends_at:
        raise Conflict(
            f"the campaign runs from {campaign.starts_at.isoformat()} "
            f"to {campaign.ends_at.isoformat()}",
            field="input.campaignId",
        )
    return campaign


async def user_in_target(session: AsyncSession, campaign: Campaign, user_id: int) -> bool:
    """Whether the user may take part: everyone when there is no target segment."""
    if campaign.target_segment_id is None:
        return True
    segment = await session.get(Segment, campaign.target_segment_id)
    assert segment is not None  # the foreign key restricts deleting a targeted segment
    return await segments.is_member(session, segment, user_id)


def assign_variant(campaign_id: int, user_id: int, weights: Sequence[int]) -> int:
    """Index of the variant a user lands in: a point from sha256(campaign, user) in
    [0, total weight) picks the bucket, so a user always gets the same variant and the
    buckets fill in proportion to the weights."""
    total = sum(weights)
    digest = hashlib.sha256(f"{campaign_id}:{user_id}".encode()).digest()
    # 64 bits make the modulo bias negligible for any realistic total weight.
    point = int.from_bytes(digest[:8], "big") % total
    return bisect_right(list(accumulate(weights)), point)


async def _variant_for(
    session: AsyncSession, campaign_id: int, user_id: int, key: str | None
) -> int | None:
    variants = (
        await session.execute(
            select(CampaignVariant.id, CampaignVariant.key, CampaignVariant.weight)
            .where(CampaignVariant.campaign_id == campaign_id)
            .order_by(CampaignVariant.id)
        )
    ).all()
    if key is not None:
        for variant in variants:
            if variant.key == key:
                return int(variant.id)
        raise ValidationFailed(f"the campaign has no variant {key!r}", field="input.variantKey")
    if not variants:
        return None
    return int(variants[assign_variant(campaign_id, user_id, [v.weight for v in variants])].id)


async def _existing(
    session: AsyncSession, model: type[Record], campaign_id: int, user_id: int
) -> Record | None:
    return await session.scalar(
        select(model).where(model.campaign_id == campaign_id, model.user_id == user_id)
    )


async def _insert_once(session: AsyncSession, record: Record) -> Recorded[Record]:
    """Insert, or return the row a concurrent request inserted first: the unique
    (campaign, user) constraint decides, and the savepoint keeps the transaction usable."""
    try:
        async with session.begin_nested():
            session.add(record)
    except IntegrityError:
        existing = await _existing(session, type(record), record.campaign_id, record.user_id)
        if existing is None:  # not the (campaign, user) constraint
            raise
        return Recorded(existing, created=False)
    return Recorded(record, created=True)


async def record_participation(
    session: AsyncSession, *, data: dict[str, Any], actor: Actor | None = None
) -> Recorded[CampaignParticipation]:
    """Records that a user took part, once: a repeat returns the first record unchanged.
    Without a variant key the user is assigned one by weight, the same one every time."""
    fields = parse(ParticipationInput, data, prefix="input")
    campaign = await _running_campaign(session, fields.campaign_id)
    user_id = await find_user_id(session, fields, actor=actor)
    existing = await _existing(session, CampaignParticipation, fields.campaign_id, user_id)
    if existing is not None:
        return Recorded(existing, created=False)
    if not await user_in_target(session, campaign, user_id):
        raise Conflict("the user is not in the campaign's target segment", field="input.userId")
    variant_id = await _variant_for(session, fields.campaign_id, user_id, fields.variant_key)
    return await _insert_once(
        session,
        CampaignParticipation(
            campaign_id=fields.campaign_id, user_id=user_id, variant_id=variant_id
        ),
    )


async def record_conversion(
    session: AsyncSession, *, data: dict[str, Any], actor: Actor | None = None
) -> Recorded[CampaignConversion]:
    """Records a participant's conversion, once, credited to their variant."""
    fields = parse(ConversionInput, data, prefix="input")
    await _running_campaign(session, fields.campaign_id)
    user_id = await find_user_id(session, fields, actor=actor)
    existing = await _existing(session, CampaignConversion, fields.campaign_id, user_id)
    if existing is not None:
        return Recorded(existing, created=False)
    participation = await _existing(session, CampaignParticipation, fields.campaign_id, user_id)
    if participation is None:
        raise Conflict("the user has not taken part in the campaign", field="input.userId")
    return await _insert_once(
        session,
        CampaignConversion(
            campaign_id=fields.campaign_id,
            user_id=user_id,
            variant_id=participation.variant_id,
            revenue=fields.revenue,
        ),
    )


# --- batch loads for the API ----------------------------------------------------------


async def variants_by_campaign(
    session: AsyncSession, campaign_ids: Sequence[int]
) -> dict[int, list[CampaignVariant]]:
    rows = await session.scalars(
        select(CampaignVariant)
        .where(CampaignVariant.campaign_id.in_(campaign_ids))  # type: ignore[attr-defined]
        .order_by(CampaignVariant.campaign_id, CampaignVariant.id)
    )
    variants: dict[int, list[CampaignVariant]] = defaultdict(list)
    for variant in rows:
        variants[variant.campaign_id].append(variant)
    return variants


async def variants_by_id(
    session: AsyncSession, variant_ids: Sequence[int]
) -> dict[int, CampaignVariant]:
    rows = await session.scalars(
        select(CampaignVariant).where(CampaignVariant.id.in_(variant_ids))  # type: ignore[union-attr]
    )
    return {variant.id: variant for variant in rows}  # type: ignore[misc]


async def _counts(
    session: AsyncSession, model: type[Record], campaign_ids: Sequence[int]
) -> dict[int, int]:
    rows = await session.execute(
        select(model.campaign_id, func.count())
        .where(model.campaign_id.in_(campaign_ids))  # type: ignore[attr-defined]
        .group_by(model.campaign_id)
    )
    return {campaign_id: count for campaign_id, count in rows}


async def participant_counts(session: AsyncSession, campaign_ids: Sequence[int]) -> dict[int, int]:
    return await _counts(session, CampaignParticipation, campaign_ids)


async def conversion_counts(session: AsyncSession, campaign_ids: Sequence[int]) -> dict[int, int]:
    return await _counts(session, CampaignConversion, campaign_ids)
