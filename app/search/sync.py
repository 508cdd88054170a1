"""Keeps the Whoosh article index in step with the database, which is the truth: the
outbox protocol, catch-up, rebuilds with a progress bar, and recovery of a broken index."""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from functools import partial
from itertools import groupby
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread
from sqlalchemy import ColumnElement, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from tqdm import tqdm

from app.errors import DomainError
from app.knowledge.models import Article, ArticleTag, SearchOutbox
from app.search.engine import LOCK_FILE, ArticleDoc, ArticleIndex, SearchResults
from app.sqltypes import utcnow

if TYPE_CHECKING:
    from app.db import Database
    from app.settings import Settings

logger = logging.getLogger("opsgraph.search")


class SearchUnavailable(DomainError):
    """The index can be neither read nor rebuilt (its directory cannot be written)."""

    code = "SEARCH_UNAVAILABLE"


SYNC_LOCK_FILE = "opsgraph-sync.lock"
ORIGIN_FILE = "opsgraph-origin"
REBUILD_PAGE = 500  # articles read per query while rebuilding
CATCH_UP_LIMIT = 1000  # past this many changed articles, a rebuild is cheaper

Result = TypeVar("Result")


async def record_change(session: AsyncSession, article_id: int) -> None:
    """Writes the outbox row for a change to an article: the last statement of the write.

    The index applies rows up to the highest seq it has seen, so no seq may become
    visible after a higher one. SQLite has one writer at a time; on PostgreSQL this
    table lock (which plain reads ignore) queues writers from here to their commit,
    so seqs are taken in commit order. Being last keeps that window short.
    """
    if session.bind.dialect.name == "postgresql":
        await session.execute(text("LOCK TABLE search_outbox IN EXCLUSIVE MODE"))
    await session.execute(insert(SearchOutbox).values(article_id=article_id, created_at=utcnow()))


@dataclass(frozen=True)
class OutboxState:
    origin: str  # the first row's seq and time: which database's history this is
    last: int  # the highest seq, 0 when the outbox is empty


async def outbox_state(session: AsyncSession) -> OutboxState:
    """One statement of three index lookups: it runs before every search."""

    def first(column: Any) -> Any:
        return select(column).order_by(SearchOutbox.seq).limit(1).scalar_subquery()  # type: ignore[arg-type]

    # Separate subqueries: SQLite scans the whole table for min() and max() together.
    last = select(func.max(SearchOutbox.seq)).scalar_subquery()
    seq, at, last_seq = (
        await session.execute(select(first(SearchOutbox.seq), first(SearchOutbox.created_at), last))
    ).one()
    return OutboxState(origin="" if seq is None else f"{seq}@{at.isoformat()}", last=last_seq or 0)


def _doc(article: Article, tags: list[str]) -> ArticleDoc:
    assert article.id is not None
    return ArticleDoc(
        id=article.id,
        title=article.title,
        body=article.body,
        tags=tags,
        category=article.category,
        language=article.language,
        status=article.status,
        helpful_votes=article.helpful_votes,
        views=article.views,
    )


async def load_docs(session: AsyncSession, where: ColumnElement[bool]) -> list[ArticleDoc]:
    """The articles matching `where` as index documents, tags included, in one query."""
    rows = await session.execute(
        select(Article, ArticleTag.tag)
        .outerjoin(ArticleTag, ArticleTag.article_id == Article.id)  # type: ignore[arg-type]
        .where(where)
        .order_by(Article.id, ArticleTag.tag)
        .execution_options(populate_existing=True)
    )
    return [
        _doc(article, [tag for _, tag in group if tag is not None])
        for article, group in groupby(rows, key=lambda row: row[0])
    ]


class SearchIndex:
    """The process's article index and what keeps it true to the database.

    The index directory records how far it follows the outbox: the watermark (the last
    seq applied, kept by ArticleIndex) and the outbox's origin (ORIGIN_FILE, the first
    row's seq and time). When the database's origin differs from the recorded one (a
    new or emptied database, a deleted or half-rebuilt directory) or its last seq is
    below the watermark (a database restored from a backup), the index describes some
    other history and is rebuilt; otherwise the rows past the watermark are replayed,
    which is idempotent. Outbox rows are therefore never deleted.

    Syncs and rebuilds hold an flock on SYNC_LOCK_FILE from reading the watermark to
    writing it, so processes sharing the directory apply changes in order and never
    lose one (ArticleIndex's own lock covers single Whoosh commits only).
    """

    def __init__(self, path: Path, index: ArticleIndex) -> None:
        self.path = path
        self._index = index
        self._local = anyio.Lock()  # queues this process's tasks without tying up threads

    @classmethod
    async def open(cls, path: str | os.PathLike[str]) -> SearchIndex:
        """The index at path, created if absent and cleared if unreadable; the first
        sync() then rebuilds it from the database."""
        directory = Path(path)
        async with _directory_lock(directory):
            index = await anyio.to_thread.run_sync(_open_readable, directory)
        return cls(directory, index)

    async def sync(self, session: AsyncSession, *, progress: bool = False) -> None:
        """Applies the changes the index has not seen, rebuilding it when it is foreign
        or unreadable (with a progress bar if asked). One query when nothing changed.
        Ends the session's transaction when there is work to do."""
        await self._recovering(session, partial(self._sync, session, progress))

    async def rebuild(self, session: AsyncSession, *, progress: bool = False) -> int:
        """Replaces the index with the database's articles; returns how many."""
        async with self._exclusive():
            await session.commit()  # a fresh snapshot, taken under the lock
            return await self._rebuild_locked(session, await outbox_state(session), progress)

    async def search(self, session: AsyncSession, query: str, **options: Any) -> SearchResults:
        """ArticleIndex.search after a sync, so writes by any process are seen.

        When the index cannot be written (permissions, a read-only or full disk) but can
        be read, the answer comes from it as it is, with `behind` counting the changes it
        misses: an agent with a user waiting is better served by slightly stale articles
        than by none. The outbox keeps those changes, and a later search applies them.
        An index that can be neither read nor rebuilt is SearchUnavailable.
        """
        behind = 0
        try:
            await self.sync(session)
        except OSError as error:
            behind = await self.lag(session)
            logger.warning("search index cannot be updated (%s): %d changes behind", error, behind)
        try:
            results = await self._recovering(
                # self._index read at each attempt: a rebuild may have reopened it.
                session,
                lambda: anyio.to_thread.run_sync(partial(self._index.search, query, **options)),
            )
        except OSError as error:
            raise SearchUnavailable(
                f"the search index is unavailable ({error.strerror or error}); retry shortly"
            ) from error
        return replace(results, behind=behind)

    async def lag(self, session: AsyncSession) -> int:
        """Outbox changes this process's index has not applied yet (for monitoring)."""
        state = await outbox_state(session)
        return max(0, state.last - self._recorded()[1])

    async def check(self) -> int:
        """For health checks: the number of documents, or an error."""
        return await anyio.to_thread.run_sync(self._index.check)

    async def sync_after_commit(self, db: Database) -> None:
        """The sync that follows a committed write. The write stands whatever happens
        here, and the next sync replays it, so a failure is logged, not raised."""
        try:
            async with db.read() as session:
                await self.sync(session)
        except OSError as error:  # the disk: no traceback to add
            logger.warning("search index sync failed (%s); the next search retries it", error)
        except Exception:
            logger.exception("search index sync failed; the next search or start-up retries it")

    # --- internals ---
    async def _recovering(
        self, session: AsyncSession, attempt: Callable[[], Awaitable[Result]]
    ) -> Result:
        try:
            return await attempt()
        except Exception as error:
            if await self._readable():
                raise
            # Expected after a deletion or a crash, and handled: the error, no traceback.
            logger.warning("search index unreadable (%r): rebuilding it", error)
            await self.rebuild(session)
            return await attempt()

    async def _readable(self) -> bool:
        try:
            await self.check()
        except Exception:  # whoosh reports damaged files with many exception types
            return False
        return True

    @asynccontextmanager
    async def _exclusive(self) -> AsyncIterator[None]:
        async with self._local, _directory_lock(self.path):
            yield

    def _recorded(self) -> tuple[str | None, int]:
        try:
            origin: str | None = (self.path / ORIGIN_FILE).read_text()
        except FileNotFoundError:
            origin = None
        return origin, self._index.get_watermark()

    async def _plan(self, session: AsyncSession) -> tuple[OutboxState, int, bool]:
        """(the outbox, the watermark, whether the index must be rebuilt)."""
        state = await outbox_state(session)
        origin, watermark = self._recorded()
        return state, watermark, origin != state.origin or watermark > state.last

    async def _sync(self, session: AsyncSession, progress: bool) -> None:
        state, watermark, foreign = await self._plan(session)
        if not foreign and state.last == watermark:
            return
        async with self._exclusive():
            # Another task or process may have synced meanwhile, and on SQLite this
            # transaction's snapshot may predate that: look again in a fresh one.
            await session.commit()
            state, watermark, foreign = await self._plan(session)
            if foreign:
                await self._rebuild_locked(session, state, progress)
            elif state.last > watermark:
                await self._catch_up_locked(session, state, watermark)

    async def _catch_up_locked(
        self, session: AsyncSession, state: OutboxState, watermark: int
    ) -> None:
        changed = list(
            await session.scalars(
                select(SearchOutbox.article_id)
                .where(SearchOutbox.seq > watermark, SearchOutbox.seq <= state.last)  # type: ignore[operator]
                .distinct()
                .limit(CATCH_UP_LIMIT + 1)
            )
        )
        if len(changed) > CATCH_UP_LIMIT:
            await self._rebuild_locked(session, state, progress=False)
            return
        # Read after the outbox: each article is at least as new as its last row.
        docs = await load_docs(session, Article.id.in_(changed))  # type: ignore[union-attr]
        missing = sorted(set(changed) - {doc.id for doc in docs})
        await anyio.to_thread.run_sync(_apply, self._index, docs, missing, state.last)

    async def _rebuild_locked(
        self, session: AsyncSession, state: OutboxState, progress: bool
    ) -> int:
        total = int(await session.scalar(select(func.count()).select_from(Article)) or 0)
        # Until the new index has landed, no origin: an interrupted rebuild is redone.
        (self.path / ORIGIN_FILE).unlink(missing_ok=True)
        replaced = self._index
        self._index = await anyio.to_thread.run_sync(_open_readable, self.path)
        replaced.close()  # its pooled searchers hold files that the rebuild deletes
        with tqdm(
            total=total, unit="article", desc="Indexing articles", disable=not progress
        ) as bar:
            count = await anyio.to_thread.run_sync(
                partial(
                    self._index.rebuild,
                    _streamed_docs(session),
                    total,
                    lambda n: bar.update(n - bar.n),
                    watermark=state.last,
                )
            )
        _write_atomically(self.path / ORIGIN_FILE, state.origin)
        logger.info("search index rebuilt: %d articles up to outbox seq %d", count, state.last)
        return count


def _streamed_docs(session: AsyncSession) -> Iterator[ArticleDoc]:
    """All articles, page by page, for a rebuild running in a worker thread."""
    after = 0
    while True:
        ids = select(Article.id).where(Article.id > after).order_by(Article.id)  # type: ignore[arg-type, operator]
        page = anyio.from_thread.run(
            load_docs,
            session,
            Article.id.in_(ids.limit(REBUILD_PAGE)),  # type: ignore[union-attr]
        )
        if not page:
            return
        yield from page
        after = page[-1].id


def _apply(
    index: ArticleIndex, docs: Sequence[ArticleDoc], missing: Sequence[int], watermark: int
) -> None:
    """Upserts and deletes; the watermark is written after the last commit."""
    index.upsert(docs, watermark=None if missing else watermark)
    if missing:
        index.delete(missing, watermark=watermark)


def _open_readable(path: Path) -> ArticleIndex:
    try:
        index = ArticleIndex.open(path)
        index.check()
        return index
    except Exception:  # whoosh reports damaged files with many exception types
        logger.warning("search index at %s is unreadable: clearing it", path, exc_info=True)
        for entry in path.iterdir():
            if entry.is_file() and entry.name not in (LOCK_FILE, SYNC_LOCK_FILE):
                entry.unlink(missing_ok=True)
        return ArticleIndex.open(path)


@asynccontextmanager
async def _directory_lock(path: Path) -> AsyncIterator[None]:
    handle = await anyio.to_thread.run_sync(_acquire, path / SYNC_LOCK_FILE)
    try:
        yield
    finally:
        handle.close()  # which releases the flock


def _acquire(lock_path: Path) -> IO[str]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(lock_path, "a+")  # noqa: SIM115 (held open across awaits by the caller)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
    except BaseException:
        handle.close()
        raise
    return handle


def _write_atomically(path: Path, content: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".origin-")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


async def reindex(settings: Settings) -> int:
    """`python -m app reindex`: rebuilds the index from the database with a progress bar;
    returns the number of articles indexed."""
    from app.db import Database

    db = Database(settings.database_url)
    try:
        index = await SearchIndex.open(settings.index_dir)
        async with db.read() as session:
            return await index.rebuild(session, progress=True)
    finally:
        await db.dispose()
