"""The command line as other tools use it: migrate, seed (twice), apikey create."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], Path]:
    base = tmp_path_factory.mktemp("cli")
    database = base / "cli.db"
    env = os.environ | {
        "OPSGRAPH_DATABASE_URL": f"sqlite:///{database}",
        "OPSGRAPH_INDEX_DIR": str(base / "index"),
    }
    run("migrate", env=env)
    run("seed", env=env)
    return env, database


def _counts(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as connection:
        return {
            table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in (
                "users",
                "events",
                "segments",
                "articles",
                "feedback",
                "campaigns",
                "survey_responses",
                "channel_exposures",
            )
        }


def test_seed_loads_the_demo_story(seeded: tuple[dict[str, str], Path]) -> None:
    counts = _counts(seeded[1])
    assert counts["users"] == 400
    assert counts["events"] > 10_000
    assert counts["articles"] >= 40
    assert counts["feedback"] >= 30
    assert counts["campaigns"] >= 3
    assert counts["survey_responses"] > 100
    assert counts["segments"] >= 4


def test_seeding_again_changes_nothing(seeded: tuple[dict[str, str], Path]) -> None:
    before = _counts(seeded[1])
    result = run("seed", env=seeded[0])
    assert "0 users" in result.stdout
    assert _counts(seeded[1]) == before


def test_apikey_create_prints_the_key_alone_on_the_last_line(
    seeded: tuple[dict[str, str], Path],
) -> None:
    result = run("apikey", "create", "--role", "agent", "--name", "desk", env=seeded[0])
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("og_") and " " not in key
    with sqlite3.connect(seeded[1]) as connection:
        role = connection.execute("SELECT role FROM api_keys WHERE name = 'desk'").fetchone()
    assert role == ("agent",)


def test_apikey_create_rejects_an_unknown_role(seeded: tuple[dict[str, str], Path]) -> None:
    with pytest.raises(subprocess.CalledProcessError) as failure:
        run("apikey", "create", "--role", "root", "--name", "x", env=seeded[0])
    assert "invalid choice" in failure.value.stderr
