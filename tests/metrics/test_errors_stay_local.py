"""One metric's error stays on its own path: the other metrics of the request still answer."""

from __future__ import annotations

from tests.conftest import GraphQLClient

DASHBOARD = """{
  metrics {
    newUsers(from: "2026-03-01", to: "2026-03-31") { users }
    churn(from: "2026-03-31", to: "2026-03-01") { rate }
    nps(from: "2026-03-01", to: "2026-03-31", segmentId: "999") { score }
  }
}"""


async def test_a_bad_range_nulls_its_metric_only(gql: GraphQLClient) -> None:
    body = await gql(DASHBOARD)
    assert body["data"]["metrics"] == {"newUsers": {"users": 0}, "churn": None, "nps": None}
    errors = {
        tuple(e["path"]): (e["extensions"]["code"], e["extensions"]["field"])
        for e in body["errors"]
    }
    assert errors == {
        ("metrics", "churn"): ("VALIDATION", "from"),
        ("metrics", "nps"): ("NOT_FOUND", "segmentId"),
    }


async def test_a_role_without_metrics_gets_null_metrics_not_null_data(
    gql: GraphQLClient,
) -> None:
    body = await gql(
        '{ metrics { newUsers(from: "2026-03-01", to: "2026-03-31") { users } } }', role="agent"
    )
    assert body["data"] == {"metrics": None}  # not `data: null`
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [
        (["metrics"], "FORBIDDEN")
    ]
