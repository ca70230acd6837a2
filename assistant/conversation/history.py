"""Conversation history in SQLite: one file, every write a transaction, safe across restarts."""

from __future__ import annotations

import dataclasses
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from ..errors import HistoryError
from .types import ConversationInfo, Passage, Turn

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    skill TEXT NOT NULL DEFAULT '',
    sources TEXT NOT NULL DEFAULT '[]',
    user TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    declined INTEGER NOT NULL DEFAULT 0,
    quoted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS turns_by_conversation ON turns(conversation_id, id);
"""
# Version 1 added turns.declined and turns.quoted; earlier stores get the columns, and their declined
# QA answers are recognised once by their text (what the terminal UI used to guess at every load).
SCHEMA_VERSION = 1


def _passages_to_json(sources: Sequence[Passage]) -> str:
    return json.dumps([dataclasses.asdict(p) for p in sources], ensure_ascii=False)


def _passages_from_json(text: str) -> tuple[Passage, ...]:
    fields = {f.name for f in dataclasses.fields(Passage)}
    return tuple(Passage(**{k: v for k, v in item.items() if k in fields}) for item in json.loads(text or "[]"))


class HistoryStore:
    """Thread-safe: one connection guarded by a lock (SQLite serialises writers anyway)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=10, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(SCHEMA)
            self._migrate()
        except sqlite3.DatabaseError as error:
            raise HistoryError(
                f"The history store {self.path} cannot be opened ({error}). Move it aside to start a fresh one."
            ) from error

    def _migrate(self) -> None:
        if self._db.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
            return
        self._db.execute("BEGIN IMMEDIATE")  # another process opening the store now waits, then sees the columns
        try:
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(turns)")}
            for column in ("declined", "quoted"):
                if column not in columns:
                    self._db.execute(f"ALTER TABLE turns ADD COLUMN {column} INTEGER NOT NULL DEFAULT 0")
            if "declined" not in columns:
                from ..skills.qa import is_declined_answer

                rows = self._db.execute("SELECT id, content FROM turns WHERE role = 'assistant' AND skill = 'qa'")
                declined = [(row_id,) for row_id, content in rows.fetchall() if is_declined_answer(content)]
                self._db.executemany("UPDATE turns SET declined = 1 WHERE id = ?", declined)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, sql: str, args: tuple = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, args)

    def _touch(self, conversation_id: str, title: str = "") -> None:
        now = time.time()
        self._write(
            "INSERT INTO conversations(id, title, created_at, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET updated_at = excluded.updated_at, "
            "title = CASE WHEN conversations.title = '' THEN excluded.title ELSE conversations.title END",
            (conversation_id, title, now, now),
        )

    def create(self, conversation_id: str, title: str = "") -> None:
        self._touch(conversation_id, title)

    def append_exchange(self, conversation_id: str, question: str, answer: str, *, skill: str = "",
                        sources: Sequence[Passage] = (), user: str = "", declined: bool = False,
                        quoted: bool = False) -> None:
        """Store a question and its answer together, or neither: a half turn would confuse the next prompt."""
        now = time.time()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._touch(conversation_id, title=question.strip().splitlines()[0][:60] if question.strip() else "")
                self._db.execute(
                    "INSERT INTO turns(conversation_id, role, content, skill, sources, user, created_at) VALUES (?,?,?,?,?,?,?)",
                    (conversation_id, "user", question, skill, "[]", user, now),
                )
                self._db.execute(
                    "INSERT INTO turns(conversation_id, role, content, skill, sources, user, created_at, declined, quoted) "
                    "VALUES (?,?,?,?,?,?,?,?,?)",
                    (conversation_id, "assistant", answer, skill, _passages_to_json(sources), "", now, declined, quoted),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def turns(self, conversation_id: str, limit: int | None = None) -> list[Turn]:
        """The conversation's turns, oldest first (the newest ``limit`` when given)."""
        sql = ("SELECT id, conversation_id, role, content, skill, sources, user, created_at, declined, quoted "
               "FROM turns WHERE conversation_id = ? ORDER BY id DESC")
        args: tuple = (conversation_id,)
        if limit is not None:
            sql += " LIMIT ?"
            args += (limit,)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [Turn(r[0], r[1], r[2], r[3], r[4], _passages_from_json(r[5]), r[6], r[7], bool(r[8]), bool(r[9]))
                for r in reversed(rows)]

    def last_sources(self, conversation_id: str) -> tuple[Passage, ...]:
        with self._lock:
            row = self._db.execute(
                "SELECT sources FROM turns WHERE conversation_id = ? AND role = 'assistant' ORDER BY id DESC LIMIT 1",
                (conversation_id,),
            ).fetchone()
        return _passages_from_json(row[0]) if row else ()

    def conversations(self) -> list[ConversationInfo]:
        """Every conversation, most recently used first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT c.id, c.title, c.created_at, c.updated_at, COUNT(t.id) FROM conversations c "
                "LEFT JOIN turns t ON t.conversation_id = c.id GROUP BY c.id ORDER BY c.updated_at DESC, c.rowid DESC"
            ).fetchall()
        return [ConversationInfo(*row) for row in rows]

    def get(self, conversation_id: str) -> ConversationInfo | None:
        return next((c for c in self.conversations() if c.id == conversation_id), None)

    def rename(self, conversation_id: str, title: str) -> None:
        self._touch(conversation_id)
        self._write("UPDATE conversations SET title = ? WHERE id = ?", (title.strip(), conversation_id))

    def clear(self, conversation_id: str) -> int:
        """Forget one conversation's turns (``/reset``); returns how many were removed."""
        return self._write("DELETE FROM turns WHERE conversation_id = ?", (conversation_id,)).rowcount

    def delete(self, conversation_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM turns WHERE conversation_id = ?", (conversation_id,))
            self._db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
