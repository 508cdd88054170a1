"""A throwaway PostgreSQL server for the test session, driven by pytest-postgresql's executor."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path

import psycopg
from pytest_postgresql.executors import PostgreSQLExecutor


def find_pg_ctl() -> str:
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda path: int(Path(path).parts[-3]),
    )
    found = candidates[-1] if candidates else shutil.which("pg_ctl")
    if not found:
        raise RuntimeError("pg_ctl not found: install the Debian 'postgresql' package")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_postgres() -> tuple[PostgreSQLExecutor, Path]:
    """Start a server in a fresh data directory; the caller stops it and removes the path."""
    base = Path(tempfile.mkdtemp(prefix="opsgraph-pg-"))
    executable = find_pg_ctl()
    if os.geteuid() == 0:
        # PostgreSQL refuses to run as root (CI does): run pg_ctl as the postgres user.
        wrapper = base / "pg_ctl-as-postgres"
        wrapper.write_text(f'#!/bin/sh\nexec runuser -u postgres -- "{executable}" "$@"\n')
        wrapper.chmod(0o755)
        shutil.chown(base, user="postgres")
        executable = str(wrapper)
    executor = PostgreSQLExecutor(
        executable=executable,
        host="127.0.0.1",
        port=_free_port(),
        datadir=str(base / "data"),
        unixsocketdir=str(base),
        logfile=str(base / "postgresql.log"),
        startparams="-w",
        dbname="opsgraph_test",
        user="postgres",
        # Durability is not under test here; these make the suite several times faster.
        postgres_options="-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
    )
    executor.start()
    _wait_until_accepting(executor)
    return executor, base


def _wait_until_accepting(executor: PostgreSQLExecutor, seconds: float = 30) -> None:
    # pg_ctl -w returns once the server runs, which can still precede "accepting
    # connections" on a loaded machine ("the database system is starting up").
    deadline = time.monotonic() + seconds
    while True:
        try:
            with psycopg.connect(
                host=executor.host, port=executor.port, user=executor.user, dbname="postgres"
            ):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
