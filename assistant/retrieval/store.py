"""The knowledge base's records in SQLite: documents (path, content hash, text), chunks (text, heading
path, page or lines, BM25 terms) and the generation number that names the matching vector file.

A write is one SQLite transaction; committing it (with the new generation) is the moment the new
vector file takes effect, so a crash leaves the previous generation whole.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from .base import DocumentInfo
from .chunking import Chunk

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    format TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    text TEXT NOT NULL,
    chunks INTEGER NOT NULL,
    indexed_at REAL NOT NULL,
    reading INTEGER NOT NULL DEFAULT 1  -- loaders.reading of its format when it was read
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: it is the chunk's id in FAISS too
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    headings TEXT NOT NULL,
    text TEXT NOT NULL,
    page INTEGER,
    line_start INTEGER,
    line_end INTEGER,
    terms TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_document ON chunks(document_id);
"""


def _inserted_id(cursor: sqlite3.Cursor) -> int:
    """The id of the row an INSERT just added (sqlite3 leaves it None only after statements that add none)."""
    if cursor.lastrowid is None:
        raise RuntimeError("an INSERT into the knowledge base's records added no row")
    return cursor.lastrowid


class Store:
    def __init__(self, path: Path, create: bool = False) -> None:
        if not create and not path.is_file():
            raise FileNotFoundError(path)
        self.path = path
        # Autocommit mode: transactions are begun and ended explicitly.
        self.conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA foreign_keys = ON")
        if create:
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.executescript(SCHEMA)
        else:
            # Fails here, not at the first search, when the file is not a database.
            self.conn.execute("SELECT count(*) FROM meta").fetchone()

    def close(self) -> None:
        self.conn.close()

    # ---------------------------------------------------------------- transactions

    def begin(self, write: bool = False) -> None:
        self.conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def add_new_columns(self) -> None:
        """Add the columns a store written by an earlier version lacks (in the write transaction open)."""
        columns = {row["name"] for row in self.conn.execute("PRAGMA table_info(documents)")}
        if "reading" not in columns:
            # Readings were first numbered at 1, so a document indexed before is at each format's first.
            self.conn.execute("ALTER TABLE documents ADD COLUMN reading INTEGER NOT NULL DEFAULT 1")

    # ---------------------------------------------------------------- meta

    def get(self, key: str, default: str = "") -> str:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set(self, key: str, value: str) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    @property
    def generation(self) -> int:
        return int(self.get("generation", "0"))

    # ---------------------------------------------------------------- documents

    def document(self, path: str) -> sqlite3.Row | None:
        return self.conn.execute("SELECT * FROM documents WHERE path = ?", (path,)).fetchone()

    def documents(self) -> list[DocumentInfo]:
        rows = self.conn.execute("SELECT path, title, format, chunks, size, indexed_at FROM documents ORDER BY path")
        return [DocumentInfo(**dict(row)) for row in rows]

    def document_names(self) -> list[tuple[int, str, str]]:
        return [tuple(row) for row in self.conn.execute("SELECT id, path, title FROM documents ORDER BY path")]

    def document_text(self, document_id: int) -> str:
        return self.conn.execute("SELECT text FROM documents WHERE id = ?", (document_id,)).fetchone()[0]

    def documents_under(self, path: str) -> list[sqlite3.Row]:
        """The document at this path, or every document inside this folder."""
        folder = path.rstrip("/") + "/"
        return self.conn.execute(
            "SELECT id, path FROM documents WHERE path = ? OR substr(path, 1, ?) = ?", (path, len(folder), folder)
        ).fetchall()

    def touch(self, document_id: int, size: int, mtime_ns: int) -> None:
        self.conn.execute("UPDATE documents SET size = ?, mtime_ns = ? WHERE id = ?", (size, mtime_ns, document_id))

    def delete_document(self, document_id: int) -> list[int]:
        """Delete a document and its chunks; the chunk ids, to take out of the vector index."""
        ids = [row[0] for row in self.conn.execute("SELECT id FROM chunks WHERE document_id = ?", (document_id,))]
        self.conn.execute("DELETE FROM documents WHERE id = ?", (document_id,))
        return ids

    def insert_document(self, path: str, title: str, format: str, size: int, mtime_ns: int, sha256: str,
                        text: str, chunks: Sequence[Chunk], terms: Sequence[list[str]], reading: int) -> list[int]:
        """Insert a document and its chunks; the new chunk ids, in order."""
        cursor = self.conn.execute(
            "INSERT INTO documents (path, title, format, size, mtime_ns, sha256, text, chunks, indexed_at, reading)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (path, title, format, size, mtime_ns, sha256, text, len(chunks), time.time(), reading),
        )
        document_id = _inserted_id(cursor)
        ids = []
        for position, (chunk, chunk_terms) in enumerate(zip(chunks, terms)):
            cursor = self.conn.execute(
                "INSERT INTO chunks (document_id, position, headings, text, page, line_start, line_end, terms)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (document_id, position, json.dumps(list(chunk.headings), ensure_ascii=False), chunk.text, chunk.page,
                 chunk.line_start, chunk.line_end, " ".join(chunk_terms)),
            )
            ids.append(_inserted_id(cursor))
        return ids

    # ---------------------------------------------------------------- chunks

    def chunk_count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM chunks").fetchone()[0]

    def chunk_ids(self) -> list[int]:
        return [row[0] for row in self.conn.execute("SELECT id FROM chunks ORDER BY id")]

    def chunk_terms(self) -> tuple[list[int], list[list[str]]]:
        ids, terms = [], []
        for chunk_id, text in self.conn.execute("SELECT id, terms FROM chunks ORDER BY id"):
            ids.append(chunk_id)
            terms.append(text.split())
        return ids, terms

    def chunks(self, ids: Iterable[int]) -> dict[int, sqlite3.Row]:
        """Chunk rows with their document's path and title, by id; ids no longer present are absent."""
        ids = [int(i) for i in ids]
        found: dict[int, sqlite3.Row] = {}
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            rows = self.conn.execute(
                "SELECT c.id, c.headings, c.text, c.page, c.line_start, c.line_end, d.path, d.title"
                f" FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id IN ({','.join('?' * len(part))})",
                part,
            )
            found.update((row["id"], row) for row in rows)
        return found

    def counts(self) -> tuple[int, int]:
        row = self.conn.execute("SELECT count(*), coalesce(sum(chunks), 0) FROM documents").fetchone()
        return int(row[0]), int(row[1])
