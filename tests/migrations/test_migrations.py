"""Alembic owns the schema: models and migrations agree, and every revision goes both ways."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from app.db import make_sync_engine
from tests.conftest import ROOT, migrate


def _config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["configure_logging"] = False
    return config


@pytest.fixture(params=["sqlite", "postgresql"])
def scratch_url(request: pytest.FixtureRequest, new_database_url: Any) -> str:
    return str(
        new_database_url(
            request.param,
            f"migrations_{request.node.name[:40]}".replace("[", "_")
            .replace("]", "")
            .replace("-", "_"),
        )
    )


def test_models_and_migrations_do_not_drift(scratch_url: str) -> None:
    migrate(scratch_url)
    engine = make_sync_engine(scratch_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    engine.dispose()
    assert differences == []


def test_upgrade_downgrade_upgrade_runs_clean(scratch_url: str) -> None:
    config = _config(scratch_url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    engine = make_sync_engine(scratch_url)
    leftover = set(inspect(engine).get_table_names()) - {"alembic_version"}
    engine.dispose()
    assert leftover == set()
    command.upgrade(config, "head")
    engine = make_sync_engine(scratch_url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert set(SQLModel.metadata.tables) <= tables
