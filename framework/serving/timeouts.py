"""A deadline on the request body: a client that trickles its body is answered 408 and cut off.

uvicorn bounds idle keep-alive connections and, with ``limit_concurrency``, how many
connections it serves, but it waits for a request body for as long as the client keeps the
socket open. A few clients sending one byte now and then would each hold a connection and a
request task for ever, and with a bounded number of connections, lock everyone else out. This
ASGI middleware gives the whole body ``seconds`` from the moment the headers arrived.

It works on the ASGI ``receive`` channel, so it needs nothing from the routes: when the deadline
passes it answers 408 with ``Connection: close`` (uvicorn then closes the socket), tells the
route the client went away (``http.disconnect``, which Starlette turns into ``ClientDisconnect``)
and drops whatever the route sends afterwards.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]

logger = logging.getLogger("bucle.serving")


class BodyTimeoutMiddleware:
    """Answer 408 when a request's body has not fully arrived ``seconds`` after its headers."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = float(seconds)

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = time.monotonic() + self.seconds
        state = {"body_done": False, "timed_out": False, "response_started": False}

        async def receive_before_deadline() -> Message:
            if state["timed_out"]:
                return {"type": "http.disconnect"}
            if state["body_done"]:  # only a disconnect can come now: no deadline on waiting
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(deadline - time.monotonic(), 0))
            except TimeoutError:
                state["timed_out"] = True
                await self._answer_timeout(scope, send, state)
                return {"type": "http.disconnect"}
            if message["type"] != "http.request" or not message.get("more_body", False):
                state["body_done"] = True
            return message

        async def send_unless_answered(message: Message) -> None:
            if state["timed_out"]:
                return  # the client got its 408; the route's late answer goes nowhere
            if message["type"] == "http.response.start":
                state["response_started"] = True
            await send(message)

        await self.app(scope, receive_before_deadline, send_unless_answered)

    async def _answer_timeout(
        self, scope: MutableMapping[str, Any], send: Send, state: dict[str, bool]
    ) -> None:
        logger.warning(
            "%s %s: the request body did not arrive within %gs (serve.body_timeout); answered 408",
            scope.get("method"),
            scope.get("path"),
            self.seconds,
        )
        if state["response_started"]:
            return  # too late for a status line: the disconnect alone ends the request
        body = json.dumps(
            {
                "detail": f"the request body did not arrive within {self.seconds:g}s "
                "(serve.body_timeout); send the whole body at once"
            }
        ).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 408, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})
