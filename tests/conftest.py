"""Test fixtures: every database test runs on SQLite and on a real PostgreSQL server.

Both databases are built by running the alembic migrations, so the migrations are what is
tested; between tests the tables are emptied rather than rebuilt.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from alembic import command
from alembic.config import Config
from asgi_lifespan import LifespanManager
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import app.models  # noqa: F401
from app.api.models import WriteGeneration
from app.api.response_cache import advance_generation
from app.auth import service as auth
from app.db import Database
from app.main import create_app
from app.settings import Settings
from tests.postgres_server import start_postgres

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ["sqlite", "postgresql"]


def migrate(database_url: str, revision: str = "head") -> None:
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logging"] = False
    command.upgrade(config, revision)


@pytest.fixture(scope="session")
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="opsgraph-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    executor, base = start_postgres()
    yield executor
    executor.stop()
    shutil.rmtree(base, ignore_errors=True)


def _postgres_database(server: Any, name: str) -> str:
    with psycopg.connect(
        host=server.host, port=server.port, user=server.user, dbname="postgres", autocommit=True
    ) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://{server.user}@{server.host}:{server.port}/{name}"


@pytest.fixture(scope="session")
def new_database_url(request: pytest.FixtureRequest, workdir: Path) -> Any:
    """Makes empty databases of the session's current backend: `new_database_url(name)`."""

    def make(backend: str, name: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{workdir / name}.db"
        return _postgres_database(request.getfixturevalue("postgres_server"), name)

    return make


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(backend: str, new_database_url: Any) -> str:
    url = new_database_url(backend, "opsgraph")
    migrate(url)
    return url


@pytest.fixture(scope="session")
def settings(database_url: str, workdir: Path, backend: str) -> Settings:
    # Key ids restart with every emptied table, so one rate window would span many tests:
    # the shared app is unlimited, and the rate-limit tests build apps with their own limits.
    unlimited = (10**9, 10**12)
    return Settings(
        database_url=database_url,
        index_dir=workdir / f"index-{backend}",
        env="test",
        rate_limits=dict.fromkeys(("admin", "operator", "agent", "integration"), unlimited),
    )


@pytest.fixture(scope="session")
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings.database_url)
    yield database
    await database.dispose()


@pytest.fixture(autouse=True)
async def _empty_tables(request: pytest.FixtureRequest) -> None:
    """Each test that uses the database (through `db`, `keys` or `gql`) starts from empty
    tables, with the shared app's cached answers retired."""
    if "db" not in request.fixturenames:
        return
    database: Database = request.getfixturevalue("db")
    tables = [
        t.name
        for t in reversed(SQLModel.metadata.sorted_tables)
        if t.name != WriteGeneration.__tablename__
    ]
    async with database.unit_of_work() as session:
        if database.dialect == "postgresql":
            await session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                await session.execute(text(f"DELETE FROM {table}"))
    await retire_cached_answers(database)


async def retire_cached_answers(db: Database) -> None:
    """What a write by hand must be followed by for queries to see it at once (otherwise
    within OPSGRAPH_RESPONSE_CACHE_SECONDS), and what ingestion leaves to that delay."""
    async with db.unit_of_work() as session:
        await advance_generation(session)


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Real HTTP requests through an ASGI app of these settings, lifespan included."""
    application = create_app(settings)
    async with (
        LifespanManager(application) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://testserver"
        ) as http,
    ):
        yield http


@pytest.fixture(scope="session")
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app most tests share."""
    async with serving(settings) as http:
        yield http


@pytest.fixture
async def keys(db: Database) -> dict[str, str]:
    """A fresh API key secret for each role."""
    secrets: dict[str, str] = {}
    async with db.unit_of_work() as session:
        for role in ("admin", "operator", "agent", "integration"):
            _key, secrets[role] = await auth.create_api_key(session, name=f"{role} key", role=role)
    return secrets


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient, keys: dict[str, str]) -> None:
        self.http = http
        self.keys = keys

    async def __call__(
        self, query: str, variables: dict[str, Any] | None = None, *, role: str | None = "admin"
    ) -> dict[str, Any]:
        """Posts an operation as `role` (None: no key) and returns the JSON body."""
        headers = {"Authorization": f"Bearer {self.keys[role]}"} if role else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, *, role: str = "admin"
    ) -> dict[str, Any]:
        """Like calling it, but fails the test on any GraphQL error."""
        body = await self(query, variables, role=role)
        assert "errors" not in body, body["errors"]
        return dict(body["data"])


@pytest.fixture
def gql(client: httpx.AsyncClient, keys: dict[str, str]) -> GraphQLClient:
    return GraphQLClient(client, keys)


class StatementCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements.append(statement)


@pytest.fixture
def count_statements() -> Iterator[StatementCounter]:
    """Records every SQL statement sent while the test runs. The app under test opens
    its own engines, so the listener is on the Engine class and sees them all."""
    counter = StatementCounter()
    event.listen(Engine, "before_cursor_execute", counter)
    yield counter
    event.remove(Engine, "before_cursor_execute", counter)
