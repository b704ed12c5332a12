"""An ASGI middleware that refuses request bodies over a size limit with 413, before reading them.

Gradio checks ``max_file_size`` on uploads only; any other route (the queue's JSON, MCP's) would
read a body of any size into memory (300 MB JSON bodies took a server to 4 GB). A declared
Content-Length over the limit is refused without reading a byte; a body sent without one (chunked)
is counted as it arrives and cut off at the limit.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyTooLarge(Exception):
    """Raised inside the wrapped receive() when a streamed body passes the limit."""


class BodyLimit:
    """Refuse HTTP request bodies larger than ``limit_for(path)`` bytes with 413.

    limits: path prefix -> byte limit (the longest matching prefix wins); ``default`` elsewhere.
    advice: path prefix -> what the 413's message tells the client to do instead.
    """

    def __init__(
        self,
        app: ASGIApp,
        limits: Mapping[str, int] | None = None,
        default: int = 1 << 20,
        advice: Mapping[str, str] | None = None,
    ):
        self.app = app
        self.limits = dict(sorted((limits or {}).items(), key=lambda item: -len(item[0])))
        self.default = default
        self.advice = dict(advice or {})

    def limit_for(self, path: str) -> int:
        return next((limit for prefix, limit in self.limits.items() if path.startswith(prefix)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        limit = self.limit_for(path)
        advice = next((text for prefix, text in self.advice.items() if path.startswith(prefix)), "")
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            log.warning("refused %s: body of %d bytes over the limit of %d", scope.get("path"), declared, limit)
            await _send_413(send, limit, advice)
            return
        received = 0
        refused = False
        response_started = False

        async def counted_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if refused and not response_started:
                return  # our 413 goes out instead
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:  # BodyTooLarge, perhaps wrapped (an ExceptionGroup) or turned into another error
            if not refused:
                raise
        if refused and not response_started:
            log.warning("refused %s: streamed body over the limit of %d", scope.get("path"), limit)
            response_started = True
            await _send_413(send, limit, advice)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_413(send: Send, limit: int, advice: str = "") -> None:
    body = (f"Request body too large: the limit is {limit:,} bytes" + (f"; {advice}" if advice else "") + ".").encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
