"""Automatic persisted queries: clients send a SHA-256 hash instead of the document.

The protocol (Apollo's APQ): a client sends `extensions.persistedQuery.sha256Hash`; if the
server does not know it, it answers PersistedQueryNotFound and the client sends the hash
with the document once, which the server checks and remembers. Each process keeps its
own bounded cache: a miss costs one retry, so nothing needs to be shared.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict


class PersistedQueryError(Exception):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class PersistedQueries:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._documents: OrderedDict[str, str] = OrderedDict()

    def resolve(self, extension: object, query: str | None) -> str:
        """The document for a request carrying a persistedQuery extension."""
        if not isinstance(extension, dict) or extension.get("version") != 1:
            raise PersistedQueryError(
                "unsupported persistedQuery version", "PERSISTED_QUERY_NOT_SUPPORTED"
            )
        digest = extension.get("sha256Hash")
        if not isinstance(digest, str):
            raise PersistedQueryError("persistedQuery needs a sha256Hash", "BAD_REQUEST")
        if query is not None:
            if hashlib.sha256(query.encode()).hexdigest() != digest:
                raise PersistedQueryError("provided sha does not match query", "BAD_REQUEST")
            self._remember(digest, query)
            return query
        known = self._documents.get(digest)
        if known is None:
            raise PersistedQueryError("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")
        self._documents.move_to_end(digest)
        return known

    def _remember(self, digest: str, query: str) -> None:
        self._documents[digest] = query
        self._documents.move_to_end(digest)
        while len(self._documents) > self.capacity:
            self._documents.popitem(last=False)
