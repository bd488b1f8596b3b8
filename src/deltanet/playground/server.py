"""The playground's web server: a Starlette app with a JSON API over playground sessions.

Endpoints (``{sid}`` is the tab's session id; answers that carry a state take an optional
``?data_version=N`` and leave the points out when the page already has that version):

===========================================  =================================================
``GET /``, ``GET /static/{name}``            the page (files shipped in the package)
``POST /api/session``                        new session: ``{"session": sid, "state": ...}``
``GET /api/session/{sid}/state``             the state: network, heatmaps, losses, points
``POST /api/session/{sid}/config``           change settings (JSON object of ``Config`` fields)
``POST /api/session/{sid}/step``             train ``{"epochs": n}`` epochs (1–100; fewer
                                             when they pass ``STEP_SECONDS``)
``POST /api/session/{sid}/reset``            initial weights again, epoch 0
``POST /api/session/{sid}/weight``           set ``{"i": i, "j": j, "value": w}``
``POST /api/session/{sid}/weights``          set all ``{"weights": [[i, j, w], ...]}``
``POST /api/session/{sid}/backward``         ``{"x": [x1, x2], "y": label}`` -> Δ_j, Δ_j a_i
``POST /api/session/{sid}/upload``           a CSV body of x1,x2,label (at most 1 MB)
``GET /api/session/{sid}/model``             the trained network as a deltanet model file
``DELETE /api/session/{sid}``                forget the session
===========================================  =================================================

Every parameter is checked here; an invalid one gets a 4xx answer ``{"error": message}``.
Work on a session runs in a worker thread while holding that session's lock; a request
for a busy session waits without a thread (so other sessions are never held up), at most
``MAX_WAITING`` of them per session, each at most ``LOCK_TIMEOUT`` seconds.
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import lessons, views
from ._http import (
    ApiError,
    OwnPageOnly,
    SecurityHeaders,
    StaticFiles,
    api,
    http_error,
    new_token,
    page_with_token,
    query_int,
    read_body,
    read_json,
)
from .backward import backward_view, check_point
from .config import parse_config
from .datasets import parse_csv
from .download import model_bytes
from .sessions import Session, SessionStore

STATIC = Path(__file__).parent / "static"
LOCK_TIMEOUT = 30.0
LOCK_POLL = 0.005  # seconds between tries of a busy session's lock
MAX_WAITING = 4  # requests that may wait for one busy session; more get 409 at once
MAX_EPOCHS_PER_STEP = 100
MAX_UPDATES_PER_STEP = 20_000  # bounds the work of one step request
STEP_SECONDS = 3.0  # a step stops after the epoch that passes this (the state tells the page)
MAX_CSV_ROWS = 5000


class Playground:
    """The routes' shared state: the sessions and the limits."""

    def __init__(self, store: SessionStore, max_body: int, max_upload: int) -> None:
        self.store = store
        self.max_body = max_body
        self.max_upload = max_upload

    def session(self, request: Request) -> Session:
        return self.store.get(request.path_params["sid"])

    async def locked(self, session: Session, work, *args: Any) -> Any:
        """Run ``work(*args)`` in a worker thread while holding the session's lock.

        While the session is busy the request waits here, in the event loop, not in one of
        the worker threads that every session shares.
        """
        if not session.lock.acquire(blocking=False):
            await self._wait_for(session)
        try:  # a cancelled request still waits for its thread before this releases
            return await run_in_threadpool(work, *args)
        finally:
            session.lock.release()

    @staticmethod
    async def _wait_for(session: Session) -> None:
        busy = "this session is busy with another request; retry shortly"
        if session.waiting >= MAX_WAITING:
            raise ApiError(409, f"{busy} ({MAX_WAITING} requests already wait for it)")
        session.waiting += 1
        try:
            deadline = time.monotonic() + LOCK_TIMEOUT
            while not session.lock.acquire(blocking=False):
                if time.monotonic() >= deadline:
                    raise ApiError(409, busy)
                await anyio.sleep(LOCK_POLL)
        finally:
            session.waiting -= 1

    def state(self, session: Session, request: Request):
        version = query_int(request, "data_version", 0, 2**31)
        return lambda: views.state(session, version)

    # ------------------------------------------------------------------ routes
    async def create(self, request: Request) -> Response:
        await read_json(request, self.max_body, keys=())
        session = await run_in_threadpool(self.store.create)
        state = await self.locked(session, views.state, session)
        return JSONResponse({"session": session.id, "state": state}, status_code=201)

    async def get_state(self, request: Request) -> Response:
        session = self.session(request)
        return JSONResponse(await self.locked(session, self.state(session, request)))

    async def config(self, request: Request) -> Response:
        session = self.session(request)
        body = await read_json(request, self.max_body)
        show = self.state(session, request)

        def work() -> dict:
            session.apply(parse_config(body, session.config))
            return show()
        return JSONResponse(await self.locked(session, work))

    async def step(self, request: Request) -> Response:
        session = self.session(request)
        body = await read_json(request, self.max_body, keys=("epochs",))
        epochs = body.get("epochs", 1)
        if isinstance(epochs, bool) or not isinstance(epochs, int) \
                or not 1 <= epochs <= MAX_EPOCHS_PER_STEP:
            raise ApiError(422, f"epochs must be a whole number from 1 to {MAX_EPOCHS_PER_STEP}"
                                f" (got {epochs!r:.40}); send e.g. {{\"epochs\": 1}}")
        updates = epochs * -(-len(session.X_train) // session.config.batch_size)
        if updates > MAX_UPDATES_PER_STEP:
            raise ApiError(422, f"{epochs} epochs of {len(session.X_train)} training points in "
                                f"batches of {session.config.batch_size} are {updates} updates, "
                                f"over the {MAX_UPDATES_PER_STEP} allowed in one step; send "
                                "fewer epochs or use larger batches")
        show = self.state(session, request)

        def work() -> dict:
            session.train(epochs, STEP_SECONDS)
            return show()
        return JSONResponse(await self.locked(session, work))

    async def reset(self, request: Request) -> Response:
        session = self.session(request)
        await read_json(request, self.max_body, keys=())
        show = self.state(session, request)

        def work() -> dict:
            session.reset()
            return show()
        return JSONResponse(await self.locked(session, work))

    async def weight(self, request: Request) -> Response:
        session = self.session(request)
        body = await read_json(request, self.max_body, keys=("i", "j", "value"))
        i, j, value = (body.get(k) for k in ("i", "j", "value"))
        if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 1000
                   for v in (i, j)):
            raise ApiError(422, f"i and j must be neuron numbers (got i={i!r:.20}, "
                                f"j={j!r:.20}); send the arc's lecture numbers")
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not -100.0 <= value <= 100.0:
            raise ApiError(422, f"value must be a number in [-100, 100] (got {value!r:.40}); "
                                "send the new weight")
        show = self.state(session, request)

        def work() -> dict:
            session.set_weight(i, j, float(value))
            return show()
        return JSONResponse(await self.locked(session, work))

    async def backward(self, request: Request) -> Response:
        session = self.session(request)
        body = await read_json(request, self.max_body, keys=("x", "y"))

        def work() -> dict:
            x, y = check_point(session, body)
            return backward_view(session, x, y)
        return JSONResponse(await self.locked(session, work))

    async def upload(self, request: Request) -> Response:
        session = self.session(request)
        raw = await read_body(request, self.max_upload)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ApiError(422, "the CSV is not UTF-8 text; save it as UTF-8 CSV") from None
        upload = parse_csv(text, MAX_CSV_ROWS)
        show = self.state(session, request)

        def work() -> dict:
            session.set_upload(upload)
            return show()
        return JSONResponse(await self.locked(session, work))

    async def model(self, request: Request) -> Response:
        session = self.session(request)
        content = await self.locked(session, model_file, session)
        name = f"playground-{session.config.dataset}.deltanet"
        return Response(content, media_type="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    async def delete(self, request: Request) -> Response:
        self.store.delete(request.path_params["sid"])
        return Response(status_code=204)


model_file = model_bytes  # the session's network as a model file (see download.py)


def create_app(*, max_sessions: int = 64, session_ttl: float = 3600.0,
               max_body: int = 64 * 1024, max_upload: int = 1024 * 1024,
               allowed_hosts: list[str] | None = None, token: str | None = None) -> Starlette:
    """Build the playground app.

    Parameters
    ----------
    max_sessions : int
        Most sessions held at once (a new tab beyond it gets 429 unless one is idle).
    session_ttl : float
        Seconds after which an unused session is forgotten.
    max_body, max_upload : int
        Largest JSON request body and largest CSV upload, in bytes (413 beyond).
    allowed_hosts : list of str, optional
        Host names the server answers to (guards a local server against DNS rebinding);
        None answers to any.
    token : str, optional
        The secret every ``/api/`` request must carry in ``X-Deltanet-Token`` (written into
        the page it serves); default: a new random one per app, as ``app.state.token``.
    """
    token = token or new_token()
    pg = Playground(SessionStore(max_sessions=max_sessions, ttl=session_ttl),
                    max_body=max_body, max_upload=max_upload)
    static = StaticFiles(STATIC)

    page = page_with_token(static.files["index.html"][0], token)

    async def index(request: Request) -> Response:
        return Response(page, media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-store"})

    async def static_file(request: Request) -> Response:
        return static.response(request.path_params["name"])

    base = "/api/session/{sid}"
    routes = [
        Route("/", index), Route("/static/{name:path}", static_file),
        Route("/api/session", api(pg.create), methods=["POST"]),
        Route(base + "/state", api(pg.get_state)),
        Route(base + "/config", api(pg.config), methods=["POST"]),
        Route(base + "/step", api(pg.step), methods=["POST"]),
        Route(base + "/reset", api(pg.reset), methods=["POST"]),
        Route(base + "/weight", api(pg.weight), methods=["POST"]),
        Route(base + "/weights", api(partial(lessons.set_weights, pg)), methods=["POST"]),
        Route(base + "/backward", api(pg.backward), methods=["POST"]),
        Route(base + "/upload", api(pg.upload), methods=["POST"]),
        Route(base + "/model", api(pg.model)),
        Route(base, api(pg.delete), methods=["DELETE"]),
    ]
    middleware = [Middleware(SecurityHeaders)]
    if allowed_hosts is not None:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts))
    middleware.append(Middleware(OwnPageOnly, token=token))
    app = Starlette(routes=routes, middleware=middleware,
                    exception_handlers={HTTPException: http_error})
    app.state.playground = pg
    app.state.token = token
    return app
