"""The API layer's one table: the write generation that cached answers are kept by."""

from __future__ import annotations

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel


class WriteGeneration(SQLModel, table=True):
    """Counts the committed writes that change what queries answer (app/api/response_cache.py).
    One row: every replica reads it before serving a cached answer, so a write through any
    of them retires the answers kept before it everywhere."""

    __tablename__ = "write_generation"

    id: int = Field(primary_key=True)
    value: int = Field(sa_type=BigInteger)
