"""HTTP plumbing every route shares: JSON answers that cannot fail to encode, bounded bodies."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from starlette.requests import ClientDisconnect

from framework.serving.validation import RequestError


class AsciiJSONResponse(JSONResponse):
    """JSON escaped to ASCII: a client's text echoed in an error (a field name holding a lone
    surrogate, say) can never fail to encode and turn a 422 into a 500."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, allow_nan=False, separators=(",", ":")).encode("ascii")


def json_response(
    status: int, content: dict[str, Any], headers: dict[str, str] | None = None
) -> Response:
    return AsciiJSONResponse(content, status_code=status, headers=headers)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed ``limit`` bytes."""
    too_large = RequestError(
        413,
        f"the request body is larger than {limit} bytes (serve.max_body_bytes); "
        "send fewer records per request",
    )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
    except ClientDisconnect:
        raise RequestError(400, "the client went away before sending the whole body") from None
    return b"".join(chunks)
