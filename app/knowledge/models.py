"""Tables for FAQ articles, their tags and votes, the outbox that feeds the search index,
and the synonym groups applied to search queries."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.sqltypes import BigIntPK, JSONType, UTCDateTime, one_of, utcnow


class ArticleStatus(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class Language(StrEnum):
    ZH = "zh"
    EN = "en"


class Article(SQLModel, table=True):
    __tablename__ = "articles"
    __table_args__ = (one_of("status", ArticleStatus), one_of("language", Language))

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(sa_type=String(200), unique=True)
    title: str = Field(sa_type=String(300))
    body: str = Field(default="", sa_type=Text)
    category: str = Field(sa_type=String(64), index=True)
    language: str = Field(default=Language.ZH, sa_type=String(8))
    status: str = Field(default=ArticleStatus.DRAFT, sa_type=String(16), index=True)
    author: str = Field(sa_type=String(200))
    reviewer: str | None = Field(default=None, sa_type=String(200))
    views: int = 0
    helpful_votes: int = 0
    unhelpful_votes: int = 0
    source_feedback_id: int | None = Field(
        default=None,
        sa_column=Column(ForeignKey("feedback.id", ondelete="SET NULL"), nullable=True),
    )
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ArticleTag(SQLModel, table=True):
    __tablename__ = "article_tags"

    article_id: int = Field(
        sa_column=Column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    )
    tag: str = Field(sa_type=String(64), primary_key=True, index=True)


class ArticleVote(SQLModel, table=True):
    """One helpful / not-helpful vote per voter (a user or an API key) and article."""

    __tablename__ = "article_votes"
    __table_args__ = (UniqueConstraint("article_id", "voter"),)

    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(
        sa_column=Column(ForeignKey("articles.id", ondelete="CASCADE"), nullable=False)
    )
    voter: str = Field(sa_type=String(200))
    helpful: bool
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SearchOutbox(SQLModel, table=True):
    """Article changes, written in the same transaction as the change itself.

    The search index replays rows past its watermark, so a crash between the database
    commit and the index write loses nothing. No foreign key: deletions are recorded too.
    """

    __tablename__ = "search_outbox"

    seq: int | None = Field(default=None, sa_column=Column(BigIntPK, primary_key=True))
    article_id: int
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SearchSynonymGroup(SQLModel, table=True):
    """Terms that find each other in article search, e.g. 导出 / export / 下载."""

    __tablename__ = "search_synonym_groups"

    id: int | None = Field(default=None, primary_key=True)
    terms: list[str] = Field(sa_type=JSONType)


class SearchLogEntry(SQLModel, table=True):
    """One search as a client ran it: feeds top queries and content gaps (知识缺口)."""

    __tablename__ = "search_log"
    __table_args__ = (Index("ix_search_log_searched_at", "searched_at"),)

    id: int | None = Field(default=None, sa_column=Column(BigIntPK, primary_key=True))
    query: str = Field(sa_type=String(256))
    normalized_query: str = Field(sa_type=String(256), index=True)
    result_count: int
    actor: str = Field(sa_type=String(200))
    searched_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ArticleView(SQLModel, table=True):
    """An article opened, with the search that led there if any (click-through)."""

    __tablename__ = "article_views"
    __table_args__ = (Index("ix_article_views_viewed_at", "viewed_at"),)

    id: int | None = Field(default=None, sa_column=Column(BigIntPK, primary_key=True))
    article_id: int = Field(
        sa_column=Column(ForeignKey("articles.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    normalized_query: str | None = Field(default=None, sa_type=String(256))
    actor: str = Field(sa_type=String(200))
    viewed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
