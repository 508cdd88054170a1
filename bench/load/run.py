"""Load test over loopback: `python -m bench.load.run [--backend sqlite|postgresql]`.

Builds a seeded database, starts `uvicorn --workers 2`, drives the client mix with locust
at a fixed offered rate, then event ingestion in batches of 1,000 as fast as it goes, and
prints throughput, p50/p95/p99 and errors per operation.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.postgres_server import start_postgres  # noqa: E402
from tests.processes import free_port  # noqa: E402


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def _locust(
    env: dict[str, str], host: str, out: Path, users: int, seconds: int, classes: list[str]
) -> list[dict[str, str]]:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(ROOT / "bench/load/locustfile.py"),
            "--headless",
            "-u",
            str(users),
            "-r",
            str(max(1, users // 2)),
            "-t",
            f"{seconds}s",
            "--host",
            host,
            "--csv",
            str(out),
            "--only-summary",
            "--loglevel",
            "WARNING",
            *classes,
        ],
        cwd=ROOT,
        env=env,
        check=False,
        # Its own tables (on both streams); ours follow, from its CSV files.
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    with open(f"{out}_failures.csv", newline="") as failures:
        for failure in csv.DictReader(failures):
            print(f"  {failure['Occurrences']} × {failure['Name']}: {failure['Error'][:300]}")
    with open(f"{out}_stats.csv", newline="") as stats:
        return list(csv.DictReader(stats))


def _cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


class CPUShare:
    """Where the machine's CPU went during a phase: the server's processes, PostgreSQL's,
    and the load generator's (a waited child, so counted by getrusage)."""

    def __init__(self, server_pid: int) -> None:
        self.server = psutil.Process(server_pid)

    def _groups(self) -> dict[str, list[psutil.Process]]:
        postgres = [p for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres"]
        workers = {
            f"worker {i}": [worker] for i, worker in enumerate(self.server.children(), start=1)
        }
        return {"server": [self.server], **workers, "PostgreSQL": postgres}

    def __enter__(self) -> CPUShare:
        self.started = time.monotonic()
        self.before = {name: _cpu_seconds(group) for name, group in self._groups().items()}
        self.children_before = _children_cpu()
        return self

    def __exit__(self, *_exc: object) -> None:
        wall = time.monotonic() - self.started
        after = {name: _cpu_seconds(group) for name, group in self._groups().items()}
        shares = {name: (after[name] - self.before[name]) / wall for name in after}
        shares["locust"] = (_children_cpu() - self.children_before) / wall
        # The supervisor and multiprocessing's helper idle: only busy processes are shown.
        shares = {n: v for n, v in shares.items() if v >= 0.01 or n in ("PostgreSQL", "locust")}
        print(
            "CPU in use (cores of "
            + str(psutil.cpu_count())
            + "): "
            + ", ".join(f"{name} {share:.2f}" for name, share in shares.items())
        )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _print(title: str, rows: list[dict[str, str]], seconds: int) -> None:
    print(f"\n{title}")
    print(
        f"{'operation':<34}{'requests':>9}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'errors':>8}"
    )
    for row in rows:
        print(
            f"{row['Name']:<34}{row['Request Count']:>9}{float(row['Requests/s']):>8.1f}"
            f"{row['50%']:>8}{row['95%']:>8}{row['99%']:>8}{row['Failure Count']:>8}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--users", type=int, default=60, help="simulated clients, 5 requests/s each"
    )
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--ingest-users", type=int, default=4)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="opsgraph-load-"))
    postgres = None
    try:
        if args.backend == "postgresql":
            postgres, pg_base = start_postgres()
            url = f"postgresql+psycopg://{postgres.user}@{postgres.host}:{postgres.port}/postgres"
        else:
            url = f"sqlite:///{work / 'load.db'}"
        unlimited = '{"admin": [1000000000, 1000000000000], "operator": [1000000000, 1000000000000], "agent": [1000000000, 1000000000000], "integration": [1000000000, 1000000000000]}'
        env = os.environ | {
            "OPSGRAPH_DATABASE_URL": url,
            "OPSGRAPH_INDEX_DIR": str(work / "index"),
            "OPSGRAPH_RATE_LIMITS": unlimited,
            "OPSGRAPH_ENV": "production",
        }
        print(f"preparing a seeded {args.backend} database …", flush=True)
        _cli(env, "migrate")
        _cli(env, "seed")
        for role in ("operator", "agent", "integration"):
            env[f"LOAD_{role.upper()}_KEY"] = _cli(
                env, "apikey", "create", "--role", role, "--name", f"load {role}"
            )
        port = free_port()
        host = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:app",
                "--workers",
                "2",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(600):
                try:
                    if httpx.get(f"{host}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            env["LOAD_RPS_PER_USER"] = "5"
            cpu = CPUShare(server.pid)
            print(f"driving the mix for {args.seconds} s …", flush=True)
            with cpu:
                mix = _locust(
                    env,
                    host,
                    work / "mix",
                    args.users,
                    args.seconds,
                    ["Dashboard", "Agent", "Integration"],
                )
            _print(
                f"mix: {args.users} clients × 5 req/s offered, {args.seconds} s, {args.backend}, uvicorn --workers 2",
                mix,
                args.seconds,
            )
            # Ingestion keeps the activity rollup once a metric has built it; a short mix
            # may not have asked for one, so ask, and measure ingestion as it runs for real.
            built = httpx.post(
                f"{host}/graphql",
                json={
                    "query": "query($d: Date!) { metrics { activeUsers(date: $d) { users } } }",
                    "variables": {"d": time.strftime("%Y-%m-%d")},
                },
                headers={"Authorization": f"Bearer {env['LOAD_OPERATOR_KEY']}"},
                timeout=60,
            )
            assert built.status_code == 200 and "errors" not in built.json(), built.text
            print("driving ingestion for 30 s …", flush=True)
            with cpu:
                ingest = _locust(env, host, work / "ingest", args.ingest_users, 30, ["Ingest"])
            _print(
                f"ingest: {args.ingest_users} clients sending 1,000-event batches back to back, 30 s",
                ingest,
                30,
            )
            total = next(r for r in ingest if r["Name"] == "Aggregated")
            print(f"\nevents ingested per second: {float(total['Requests/s']) * 1000:,.0f}")
        finally:
            server.terminate()
            server.wait(15)
    finally:
        if postgres is not None:
            postgres.stop()
            shutil.rmtree(pg_base, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
