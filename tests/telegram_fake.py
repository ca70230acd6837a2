"""A fake Telegram Bot API: updates queued for getUpdates, every call recorded, Telegram's checks applied.

Use it in-process through ``FakeTransport`` (a python-telegram-bot request class, for
``Application.process_update`` tests) or over HTTP on 127.0.0.1 through ``FakeBotServer`` (for the
real Application polling with ``--api-url``). Like Telegram, it rejects malformed or unsupported HTML
and texts over 4,096 characters, and can be told to fail a method (429 with retry_after, 5xx, 400).
"""

from __future__ import annotations

import html.parser
import itertools
import json
import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

from telegram.request import BaseRequest

BOT_USER = {"id": 999, "is_bot": True, "first_name": "Assistant", "username": "assistant_test_bot",
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
TELEGRAM_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "blockquote",
                 "tg-spoiler", "span", "tg-emoji"}
LIMIT = 4096


@dataclass
class Call:
    method: str
    params: dict
    at: float


@dataclass
class Shown:
    """A message as the chat shows it now."""

    chat_id: int
    message_id: int
    text: str  # visible text, entities parsed
    markup: str  # what the bot sent
    parse_mode: str | None
    reply_to: int | None = None
    deleted: bool = False
    edits: int = 0


class _Visible(html.parser.HTMLParser):
    """Telegram's HTML parsing: only its tags, properly nested; collects the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.stack: list[str] = []
        self.error = ""

    def handle_starttag(self, tag, attrs):
        if tag not in TELEGRAM_TAGS:
            self.error = self.error or f"unsupported start tag \"{tag}\""
        if tag == "a" and not any(k == "href" for k, _ in attrs):
            self.error = self.error or "a tag without href"
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.error = self.error or f"unmatched end tag \"{tag}\""
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def visible_text(markup: str, parse_mode: str | None) -> tuple[str, str]:
    """(text shown, error) for a message body, as Telegram would parse it."""
    if parse_mode != "HTML":
        return markup, ""
    if re.search(r"&(?!(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)", markup):
        return "", "Can't parse entities: unsupported HTML entity"
    parser = _Visible()
    parser.feed(markup)
    parser.close()
    if parser.stack and not parser.error:
        parser.error = f"can't find end tag corresponding to start tag \"{parser.stack[-1]}\""
    return "".join(parser.text), (f"Can't parse entities: {parser.error}" if parser.error else "")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class FakeBotAPI:
    def __init__(self, bot_user: dict | None = None) -> None:
        self.bot_user = dict(bot_user or BOT_USER)
        self.cond = threading.Condition()
        self.calls: list[Call] = []
        self.updates: list[dict] = []
        self.update_ids = itertools.count(1)
        self.message_ids = itertools.count(1000)
        self.incoming_ids = itertools.count(1)
        self.failures: dict[str, list[tuple[int, dict]]] = defaultdict(list)
        self.files: dict[str, bytes] = {}
        self.unserved: set[str] = set()  # files getFile knows but downloads answer 404 (expired, lost)
        self.shown: list[Shown] = []
        self.chats: dict[int, dict] = {}
        self.tokens: set[str] = set()
        self.webhook: dict = {}
        self.closed = False

    # --- what tests set up --------------------------------------------------------------

    def fail(self, method: str, status: int = 429, description: str = "Too Many Requests: retry after 1",
             retry_after: int | None = 1, times: int = 1) -> None:
        body = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None and status == 429:
            body["parameters"] = {"retry_after": retry_after}
        with self.cond:
            self.failures[method] += [(status, body)] * times

    def message(self, text: str = "", *, user_id: int = 42, chat_id: int | None = None, chat_type: str = "private",
                username: str = "alice", reply_to: dict | None = None, document: dict | None = None,
                caption: str | None = None, topic: int | None = None) -> dict:
        """An update carrying a message from a user, with the entities Telegram would mark; ``topic``: the forum topic
        of a group it is posted in."""
        chat_id = user_id if chat_id is None else chat_id
        chat = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = username.title()
        else:
            chat["title"] = "Team"
        self.chats[chat_id] = chat
        message = {
            "message_id": next(self.incoming_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": {"id": user_id, "is_bot": False, "first_name": username.title(), "username": username},
        }
        if document is not None:
            message["document"] = document
            if caption is not None:
                message["caption"] = caption
                message["caption_entities"] = _entities(caption)
        else:
            message["text"] = text
            if _entities(text):
                message["entities"] = _entities(text)
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        if topic is not None:
            chat["is_forum"] = True
            message.update(message_thread_id=topic, is_topic_message=True)
        return {"update_id": next(self.update_ids), "message": message}

    def document(self, name: str, content: bytes, mime_type: str = "text/plain", served: bool = True) -> dict:
        file_id = f"file-{len(self.files) + 1}"
        self.files[file_id] = content
        if not served:
            self.unserved.add(file_id)
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_name": name, "mime_type": mime_type,
                "file_size": len(content)}

    def bot_message(self, shown: Shown) -> dict:
        """A message the bot sent, as it appears in reply_to_message."""
        return {"message_id": shown.message_id, "date": int(time.time()), "chat": self.chats.get(shown.chat_id, {"id": shown.chat_id, "type": "private"}),
                "from": self.bot_user, "text": shown.text}

    def push(self, *updates: dict) -> None:
        with self.cond:
            self.updates.extend(updates)
            self.cond.notify_all()

    # --- what tests check ---------------------------------------------------------------

    def methods(self) -> list[str]:
        with self.cond:
            return [call.method for call in self.calls]

    def calls_of(self, method: str) -> list[Call]:
        with self.cond:
            return [call for call in self.calls if call.method == method]

    def chat(self, chat_id: int) -> list[Shown]:
        """The bot's messages in a chat, as shown now (deleted ones left out)."""
        with self.cond:
            return [m for m in self.shown if m.chat_id == chat_id and not m.deleted]

    def texts(self, chat_id: int) -> list[str]:
        return [m.text for m in self.chat(chat_id)]

    # --- the API ------------------------------------------------------------------------

    def handle(self, method: str, params: dict, wait: bool = True) -> tuple[int, dict]:
        with self.cond:
            self.calls.append(Call(method, dict(params), time.monotonic()))
            self.cond.notify_all()
            if self.failures[method]:
                return self.failures[method].pop(0)
        answer = getattr(self, f"_{method}", None)
        if answer is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
        try:
            result = answer(params, wait) if method == "getUpdates" else answer(params)
        except _Refused as refusal:
            return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {refusal}"}
        return 200, {"ok": True, "result": result}

    def download(self, path: str) -> tuple[int, bytes]:
        """A file download (``/file/bot<token>/<file_path>``): (status, body); ``fail("download", ...)`` applies."""
        file_id = path.rsplit("/", 1)[-1]
        with self.cond:
            self.calls.append(Call("download", {"file_id": file_id}, time.monotonic()))
            if self.failures["download"]:
                status, body = self.failures["download"].pop(0)
                return status, json.dumps(body).encode()
        content = self.files.get(file_id)
        if content is None or file_id in self.unserved:
            return 404, b'{"ok":false,"error_code":404,"description":"Not Found"}'
        return 200, content

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def _getMe(self, params):
        return self.bot_user

    def _deleteWebhook(self, params):
        self.webhook = {}
        return True

    def _setWebhook(self, params):
        self.webhook = dict(params)
        return True

    def _setMyCommands(self, params):
        json.loads(params["commands"])
        return True

    def _sendChatAction(self, params):
        return True

    def _getUpdates(self, params, wait):
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + (min(float(params.get("timeout") or 0), 2.0) if wait else 0)
        with self.cond:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
            while not self.updates and not self.closed and time.monotonic() < deadline:
                self.cond.wait(deadline - time.monotonic())
            return list(self.updates[: int(params.get("limit") or 100)])

    def _check_text(self, params, key="text") -> tuple[str, str]:
        markup = params.get(key, "")
        parse_mode = params.get("parse_mode")
        text, error = visible_text(markup, parse_mode)
        if error:
            raise _Refused(error)
        if not text.strip():
            raise _Refused("message text is empty")
        if utf16_len(text) > LIMIT:
            raise _Refused("message is too long")
        return text, markup

    def _sendMessage(self, params):
        text, markup = self._check_text(params)
        chat_id = int(params["chat_id"])
        reply = json.loads(params["reply_parameters"])["message_id"] if params.get("reply_parameters") else None
        shown = Shown(chat_id, next(self.message_ids), text, markup, params.get("parse_mode"), reply)
        with self.cond:
            self.shown.append(shown)
            self.cond.notify_all()
        return self._as_message(shown)

    def _editMessageText(self, params):
        text, markup = self._check_text(params)
        shown = self._find(params)
        if shown.text == text:
            raise _Refused("message is not modified: specified new message content and reply markup are exactly the same")
        with self.cond:
            shown.text, shown.markup, shown.parse_mode = text, markup, params.get("parse_mode")
            shown.edits += 1
            self.cond.notify_all()
        return self._as_message(shown)

    def _sendMessageDraft(self, params):
        self._check_text(params)
        return True

    def _deleteMessage(self, params):
        self._find(params).deleted = True
        return True

    def _getFile(self, params):
        file_id = params["file_id"]
        if file_id not in self.files:
            raise _Refused("invalid file_id")
        return {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": len(self.files[file_id]),
                "file_path": f"documents/{file_id}"}

    def _find(self, params) -> Shown:
        chat_id, message_id = int(params["chat_id"]), int(params["message_id"])
        for shown in self.shown:
            if shown.chat_id == chat_id and shown.message_id == message_id and not shown.deleted:
                return shown
        raise _Refused("message to edit not found")

    def _as_message(self, shown: Shown) -> dict:
        chat = self.chats.get(shown.chat_id, {"id": shown.chat_id, "type": "private"})
        return {"message_id": shown.message_id, "date": int(time.time()), "chat": chat, "from": self.bot_user,
                "text": shown.text}


class _Refused(Exception):
    pass


def _entities(text: str) -> list[dict]:
    entities = []
    command = re.match(r"/\w+(@\w+)?", text)
    if command:
        entities.append({"type": "bot_command", "offset": 0, "length": len(command.group(0))})
    for mention in re.finditer(r"(?<!\w)@\w+", text):
        entities.append({"type": "mention", "offset": utf16_len(text[: mention.start()]), "length": utf16_len(mention.group(0))})
    return entities


class FakeTransport(BaseRequest):
    """python-telegram-bot's network layer answered in-process by a FakeBotAPI."""

    def __init__(self, api: FakeBotAPI) -> None:
        self.api = api

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(self, url, method, request_data=None, read_timeout=None, write_timeout=None,
                         connect_timeout=None, pool_timeout=None) -> tuple[int, bytes]:
        if "/file/bot" in url:
            return self.api.download(url)
        params = request_data.json_parameters if request_data else {}
        status, body = self.api.handle(url.rsplit("/", 1)[-1], params, wait=False)
        return status, json.dumps(body).encode()


class FakeBotServer:
    """The FakeBotAPI over HTTP on 127.0.0.1, as a self-hosted Bot API server would be reached."""

    def __init__(self, api: FakeBotAPI) -> None:
        self.api = api
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self) -> None:
                match = re.match(r"^/file/bot([^/]+)/(.+)$", self.path)
                if not match:
                    self._reply(404, b"not found", "text/plain")
                    return
                status, body = outer.api.download(match.group(2))
                self._reply(status, body, "application/octet-stream" if status == 200 else "application/json")

            def do_POST(self) -> None:
                match = re.match(r"^/bot([^/]+)/(\w+)$", self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                if not match:
                    self._reply(404, b'{"ok":false,"error_code":404,"description":"Not Found"}')
                    return
                outer.api.tokens.add(match.group(1))
                kind = self.headers.get("Content-Type", "")
                params = json.loads(raw) if kind.startswith("application/json") else dict(parse_qsl(raw))
                status, body = outer.api.handle(match.group(2), params)
                self._reply(status, json.dumps(body).encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="fake-bot-api", daemon=True)

    def __enter__(self) -> FakeBotServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.api.close()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
