"""The command line: python -m app serve | migrate | seed | reindex | apikey create."""

from __future__ import annotations

import argparse
import asyncio
import sys

from app.settings import Settings


def migrate(settings: Settings) -> None:
    from alembic import command
    from alembic.config import Config

    from app.seeding.loader import SEEDS

    config = Config(str(SEEDS.parent / "alembic.ini"))
    config.attributes["database_url"] = settings.database_url
    command.upgrade(config, "head")


def seed(settings: Settings) -> None:
    from app.seeding.loader import seed as load_seeds

    created = asyncio.run(load_seeds(settings))
    print("seeded: " + ", ".join(f"{count} {kind}" for kind, count in created.items()))


def create_api_key(settings: Settings, role: str, name: str) -> str:
    from app.auth.service import create_api_key as create
    from app.db import Database

    async def run() -> str:
        db = Database(settings.database_url)
        try:
            async with db.unit_of_work() as session:
                _key, secret = await create(session, name=name, role=role)
        finally:
            await db.dispose()
        return secret

    return asyncio.run(run())


def serve(settings: Settings, workers: int) -> None:
    import uvicorn

    from app.observability import configure_logging

    configure_logging()
    uvicorn.run(
        "app.main:app",
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_config=None,  # keep the JSON logging configured above (workers inherit it)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="serve GraphQL (and GraphiQL) over HTTP")
    serve_parser.add_argument("--workers", type=int, default=1)
    commands.add_parser("migrate", help="upgrade the database schema to the latest revision")
    commands.add_parser("seed", help="load the demo data set from seeds/ (idempotent)")
    commands.add_parser("reindex", help="rebuild the search index from the database")
    apikey = commands.add_parser("apikey", help="manage API keys")
    apikey_commands = apikey.add_subparsers(dest="apikey_command", required=True)
    create = apikey_commands.add_parser("create", help="create a key; prints it on the last line")
    create.add_argument(
        "--role", required=True, choices=["admin", "operator", "agent", "integration"]
    )
    create.add_argument("--name", required=True)
    args = parser.parse_args(argv)

    settings = Settings()
    if args.command == "serve":
        serve(settings, args.workers)
    elif args.command == "migrate":
        migrate(settings)
    elif args.command == "seed":
        seed(settings)
    elif args.command == "reindex":
        from app.search.sync import reindex

        print(f"indexed {asyncio.run(reindex(settings))} articles")
    elif args.command == "apikey":
        secret = create_api_key(settings, args.role, args.name)
        print(f"Created {args.role} key '{args.name}'. It is shown only once:", file=sys.stderr)
        print(secret)
    return 0


if __name__ == "__main__":
    sys.exit(main())
