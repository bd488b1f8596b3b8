"""HTTP plumbing for the playground server: bounded bodies, JSON errors, static files.

Every error leaves the server as ``{"error": "..."}`` with a 4xx status that says what was
wrong and how to fix it; an unexpected failure becomes a 500 without a traceback.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .sessions import SessionError

log = logging.getLogger("deltanet.playground")

MEDIA_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
               ".css": "text/css; charset=utf-8", ".png": "image/png",
               ".svg": "image/svg+xml", ".ico": "image/x-icon"}
CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


class ApiError(Exception):
    """An answer other than success: HTTP ``status`` and a message for the person."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status,
                        headers={"Cache-Control": "no-store"})


def api(handler: Callable[[Request], Awaitable[Response]]):
    """Turn every failure of ``handler`` into a JSON error answer (4xx, or 500 if unexpected)."""
    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except (ApiError, SessionError) as err:
            return error(err.status, str(err))
        except (ValueError, TypeError, KeyError) as err:
            message = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
            return error(422, str(message))
        except Exception:
            log.exception("unexpected error in %s %s", request.method, request.url.path)
            return error(500, "the server failed on this request; reset the page and retry")
    return wrapped


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, at most ``limit`` bytes (413 beyond, checked while reading)."""
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise ApiError(400, f"Content-Length must be a whole number (got {length[:20]!r})")
        if int(length) > limit:
            raise ApiError(413, f"the body has {int(length)} bytes; the limit is {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"the body is over the limit of {limit} bytes; send less")
        chunks.append(chunk)
    return b"".join(chunks)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


async def read_json(request: Request, limit: int, keys: tuple[str, ...] | None = None) -> dict:
    """A JSON object body of at most ``limit`` bytes, with only ``keys`` (when given)."""
    raw = await read_body(request, limit)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise ApiError(400, f"the body is not valid JSON ({str(err)[:120]}); "
                            "send a JSON object") from None
    if not isinstance(body, dict):
        raise ApiError(422, f"the body must be a JSON object (got {type(body).__name__}); "
                            'send e.g. {"epochs": 1}')
    if keys is not None:
        unknown = sorted(set(body) - set(keys))
        if unknown:
            raise ApiError(422, f"unknown field {unknown[0]!r:.40}; this request takes: "
                                f"{', '.join(keys) or 'no fields'}")
    return body


def query_int(request: Request, name: str, low: int, high: int) -> int | None:
    """An optional whole-number query parameter within ``[low, high]``."""
    value = request.query_params.get(name)
    if value is None:
        return None
    digits = value[1:] if value.startswith("-") else value
    if not digits.isdigit() or len(value) > 12 or not low <= int(value) <= high:
        raise ApiError(422, f"{name} must be a whole number in [{low}, {high}] "
                            f"(got {value[:20]!r})")
    return int(value)


class StaticFiles:
    """The page's files, read once at start: only these names are ever served."""

    def __init__(self, folder: Path) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.suffix in MEDIA_TYPES:
                self.files[path.name] = (path.read_bytes(), MEDIA_TYPES[path.suffix])

    def response(self, name: str) -> Response:
        if name not in self.files:
            return error(404, f"no file {name[:60]!r}; the page is at /")
        content, media_type = self.files[name]
        return Response(content, media_type=media_type, headers={"Cache-Control": "no-cache"})


async def http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths (404) and wrong methods (405) as JSON errors."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    detail = exc.detail if isinstance(exc, HTTPException) else "server error"
    if status == 405:
        detail = f"{request.method} is not allowed on {request.url.path[:80]}"
    elif status == 404:
        detail = f"nothing at {request.url.path[:80]!r}; the page is at / and the API at /api/"
    return error(status, str(detail))


class SecurityHeaders:
    """ASGI middleware adding a strict Content-Security-Policy and related headers."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"content-security-policy", CSP.encode()),
                            (b"x-content-type-options", b"nosniff"),
                            (b"referrer-policy", b"no-referrer"),
                            (b"x-frame-options", b"DENY")]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
