"""The campaign report as Markdown an operator can paste into a summary (活动总结)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from app.metrics.campaigns import AudienceSource, CampaignReport, VariantResult
from app.metrics.stats import SIGNIFICANCE_LEVEL

NONE = "—"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _percent(value: float | None, *, signed: bool = False) -> str:
    return NONE if value is None else f"{value:+.1f}%" if signed else f"{value:.1f}%"


def _number(value: float | None) -> str:
    return NONE if value is None else f"{value:,.1f}"


def _money(amount: Decimal | None) -> str:
    return NONE if amount is None else f"{amount:,.2f}"


def _moment(moment: datetime | None) -> str:
    return NONE if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def _days(first: date | None, last: date | None) -> str:
    return f"{first} → {last}"


def _list(pairs: Iterable[tuple[str, int]]) -> str:
    return ", ".join(f"{name} ({count})" for name, count in pairs) or NONE


def _variant_row(result: VariantResult) -> str:
    variant, test = result.variant, result.test
    name = f"{_cell(variant.name)} (`{variant.key}`)" + (" · control" if variant.is_control else "")
    if test is None:
        p_value = significant = NONE
    else:
        p_value, significant = f"{test.p_value:.4f}", "yes" if test.significant else "no"
    cells = [
        name,
        str(result.participants),
        str(result.conversions),
        _percent(result.conversion_rate),
        _percent(result.lift, signed=True),
        p_value,
        significant,
    ]
    return "| " + " | ".join(cells) + " |"


def render(report: CampaignReport) -> str:
    evaluation, feedback = report.evaluation, report.feedback
    campaign, audience, activity = evaluation.campaign, evaluation.audience, evaluation.activity
    if audience.source is AudienceSource.ALL_USERS:
        who = f"Open to all users: {audience.size} users."
    else:
        assert audience.segment is not None
        when = (
            f"as snapshotted at {_moment(audience.snapshot.taken_at)}"
            if audience.snapshot is not None
            else "current members (no snapshot was taken at launch)"
        )
        who = (
            f"Target segment {_cell(audience.segment.name)} (`{audience.segment.key}`): "
            f"{audience.size} users, {when}."
        )
    lines = [
        f"# Campaign report: {campaign.name} (`{campaign.key}`)",
        "",
        f"- Status: {campaign.status}; {_moment(campaign.starts_at)} → {_moment(campaign.ends_at)}",
        f"- Goal: {campaign.goal}; form: {campaign.form}; "
        f"channels: {', '.join(campaign.channels) or NONE}",
    ]
    if campaign.theme:
        lines.append(f"- Theme: {campaign.theme}")
    lines += [
        "",
        "## Audience",
        "",
        who,
        "",
        "## Participation",
        "",
        f"- Participants: {evaluation.participants} "
        f"({_percent(evaluation.participation_rate)} of the audience)",
        f"- Conversions: {evaluation.conversions} "
        f"({_percent(evaluation.conversion_rate)} of participants); "
        f"revenue {_money(evaluation.revenue)}",
        f"- Registrations brought in (participants who signed up during the campaign): "
        f"{evaluation.registrations}",
    ]
    if evaluation.variants:
        lines += [
            "",
            "## Variants",
            "",
            "| Variant | Participants | Conversions | Conversion rate | Lift vs control "
            f"| p-value | Significant (α = {SIGNIFICANCE_LEVEL}) |",
            "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
            *(_variant_row(result) for result in evaluation.variants),
            "",
            "Two-sided two-proportion z-test of each variant against the control "
            "(pooled standard error).",
        ]
    lines += ["", "## Activity before vs during", ""]
    if activity.days == 0:
        lines.append("The campaign has no complete day yet.")
    else:
        lines.append(
            f"Mean daily active users of the audience: {_number(activity.mean_dau_before)} "
            f"over the {activity.days} days before "
            f"({_days(activity.before_from, activity.before_to)}), "
            f"{_number(activity.mean_dau_during)} during "
            f"({_days(activity.during_from, activity.during_to)}): "
            f"{_percent(activity.change_percent, signed=True)}."
        )
    lines += [
        "",
        "## Budget",
        "",
        f"Budget {_money(campaign.budget)}; cost per participant "
        f"{_money(evaluation.cost_per_participant)}.",
        "",
        "## Feedback received during the campaign",
        "",
        f"- Tickets from the audience: {feedback.total}",
        f"- By type: {_list(feedback.by_type)}",
        f"- Top tags: {_list(feedback.top_tags)}",
        "",
        f"_Generated {_moment(report.generated_at)}._",
    ]
    return "\n".join(lines) + "\n"
