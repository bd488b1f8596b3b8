"""Lessons: the weights a lesson link fixes, set in one request.

A lesson link (see ``static/lesson.js``) fixes the data, the network and its weights. The
data and the network go through the ordinary upload and settings requests; this module
adds ``POST /api/session/{sid}/weights`` with ``{"weights": [[i, j, w_ij], ...]}``, which
sets every weight of the network at once and answers with the new state.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ._http import read_json


async def set_weights(pg: Any, request: Request) -> Response:
    """Set all weights of the session's network (``Session.set_weights`` checks them);
    ``pg`` is the server's ``Playground`` (sessions, locks and limits)."""
    session = pg.session(request)
    body = await read_json(request, pg.max_body, keys=("weights",))
    show = pg.state(session, request)

    def work() -> dict:
        session.set_weights(body.get("weights"))
        return show()
    return JSONResponse(await pg.locked(session, work))
