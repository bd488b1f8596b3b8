"""HTTP plumbing for the playground server: bounded bodies, JSON errors, static files, and
the guard that lets only the page this server served drive it.

Every error leaves the server as ``{"error": "..."}`` with a 4xx status that says what was
wrong and how to fix it; an unexpected failure becomes a 500 without a traceback.

**Only the playground's own page is obeyed.** Any web site the user visits can make the
browser send requests to ``127.0.0.1``. So every ``/api/`` request must carry the
per-launch token that the server writes into its page (``<meta name="deltanet-token">``)
in the ``X-Deltanet-Token`` header: another site can neither read the page nor, without
the header, send anything but a "simple" request, and a custom header from another origin
needs a CORS preflight this server never grants. Requests that a browser marks as coming
from another site (``Origin`` other than the server's own, ``Origin: null``,
``Sec-Fetch-Site: cross-site`` or ``same-site``) are refused as well, and JSON bodies must
be sent as ``application/json``. Refused requests get 403 (or 415) before their body is
read, and change nothing: a foreign page cannot create sessions, so it cannot evict one.
"""

from __future__ import annotations

import csv
import functools
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
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
        except ClientDisconnect:  # the client went away mid-request: nobody hears an answer
            log.info("client left during %s %s", request.method, request.url.path)
            return error(400, "the request ended before its body was complete")
        except csv.Error as err:  # e.g. a field over the csv module's limit
            return error(422, f"the CSV cannot be read ({str(err)[:120]}); send a table of "
                              "x1,x2,label rows")
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
    """A JSON object body of at most ``limit`` bytes, with only ``keys`` (when given), sent
    as ``application/json`` (a form or ``text/plain`` post is no JSON request: 415)."""
    raw = await read_body(request, limit)
    if not raw.strip():
        return {}
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise ApiError(415, f"the body must be sent as application/json (got "
                            f"{media[:40] or 'no Content-Type'!r})")
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


TOKEN_HEADER = "x-deltanet-token"


def new_token() -> str:
    """A fresh per-launch token (256 random bits)."""
    return secrets.token_urlsafe(32)


def page_with_token(page: bytes, token: str) -> bytes:
    """The page with the token in a ``<meta name="deltanet-token">`` element of its head."""
    meta = f'<meta name="deltanet-token" content="{token}">\n'.encode()
    return page.replace(b"</head>", meta + b"</head>", 1)


def refusal(scope, token: str) -> tuple[int, str] | None:
    """Why an ``/api/`` request must be refused (status, message), or None to serve it."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1")
               for k, v in scope.get("headers", [])}
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return 403, f"requests from other web sites are refused (Sec-Fetch-Site: {site[:20]})"
    origin = headers.get("origin")
    if origin is not None:
        own = f"{scope.get('scheme', 'http')}://{headers.get('host', '')}"
        if origin != own:
            return 403, (f"requests from other web sites are refused (Origin: {origin[:60]}); "
                         "use the playground's own page")
    if not secrets.compare_digest(headers.get(TOKEN_HEADER, ""), token):
        return 403, ("this request lacks the playground's token (X-Deltanet-Token); only the "
                     "page this server served can drive it: reload the page")
    return None


class OwnPageOnly:
    """ASGI middleware: every ``/api/`` request must come from the page (see module doc)."""

    def __init__(self, app, token: str) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope.get("path", "").startswith("/api/"):
            refused = refusal(scope, self.token)
            if refused is not None:
                await error(*refused)(scope, receive, send)
                return
        await self.app(scope, receive, send)
