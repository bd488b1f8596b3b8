"""The deltanet playground: train small networks live in the browser, on the real engine.

``deltanet playground`` (or ``python -m deltanet.playground``) starts a local web server on
127.0.0.1 and opens the page: TensorFlow Playground's data sets, features, layers and
controls, plus multi-class data, dropout, batch normalisation, an activation per layer, CSV
upload, model download, and the backward view that shows every ``Δ_j`` and ``Δ_j a_i`` of
one point with the lecture's derivation.

>>> from deltanet.playground import create_app
>>> app = create_app(max_sessions=8)
"""

from __future__ import annotations

import argparse
import errno
import json
import socket
import sys
import threading
import webbrowser

from .._validation import check_choice
from .server import create_app

__all__ = ["add_cli_arguments", "create_app", "run_from_args", "serve"]

DEFAULT_PORT = 8000
LOCAL_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]"]


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(host: str = "127.0.0.1", port: int | None = None, open_browser: bool = True, *,
          max_sessions: int = 64, announce: str = "text") -> None:
    """Run the playground until interrupted; print its URL and open it in the browser.

    Parameters
    ----------
    host : str
        Address to listen on; 127.0.0.1 (this machine only) unless told otherwise.
    port : int, optional
        Port to listen on; 0 picks a free one. By default 8000, or a free port if 8000 is
        taken.
    open_browser : bool
        Open the page in the default web browser.
    max_sessions : int
        Most browser tabs served at once.
    announce : {"text", "json", "none"}
        How to tell the URL on stdout once the server listens: a line for people, one JSON
        document ``{"url": ...}``, or nothing. With "json" and "none" the note that other
        machines can reach a non-local ``host`` goes to stderr.
    """
    import uvicorn

    check_choice("announce", announce, ("text", "json", "none"))

    try:
        sock = _bind(host, DEFAULT_PORT if port is None else port)
    except OSError as err:
        if port is not None or err.errno != errno.EADDRINUSE:
            raise
        sock = _bind(host, 0)
    bound = sock.getsockname()[1]
    local = host in ("127.0.0.1", "localhost", "::1")
    shown = host if local else "127.0.0.1"
    url = f"http://{'[' + shown + ']' if ':' in shown else shown}:{bound}/"
    allowed = LOCAL_HOSTS if local else None
    app = create_app(max_sessions=max_sessions, allowed_hosts=allowed)
    _announce(announce, url, None if local else host)
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    config = uvicorn.Config(app, log_level="warning", lifespan="off", ws="none")
    uvicorn.Server(config).run(sockets=[sock])


def _announce(how: str, url: str, open_host: str | None) -> None:
    """Print the URL (the socket already listens) and, for a non-local host, a note."""
    note = f"listening on {open_host}: other machines on the network can reach it"
    if how == "text":
        print(f"deltanet playground running at {url}  (press Ctrl+C to stop)", flush=True)
        if open_host:
            print(note, flush=True)
        return
    if how == "json":
        print(json.dumps({"url": url}), flush=True)
    if open_host:
        print(note, file=sys.stderr, flush=True)


def add_cli_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``--host``, ``--port``, ``--no-browser``, ``--max-sessions`` and ``--export``."""
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=None,
                        help=f"port (default {DEFAULT_PORT}, or a free one; 0 = any free port)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    parser.add_argument("--max-sessions", type=int, default=64,
                        help="most browser tabs served at once (default 64)")
    parser.add_argument("--export", metavar="DIR", default=None,
                        help="write the playground as a static site into DIR (works from "
                             "file:// and any static host, no server) and exit")
    return parser


def run_from_args(args: argparse.Namespace) -> int:
    """Run ``serve`` from parsed arguments; returns an exit status (2 on a bad argument, with
    one line ``deltanet: error: ...`` on stderr).

    ``args.json`` prints the URL as ``{"url": ...}``; ``args.quiet`` prints nothing.
    """
    from ..cli._common import print_error

    if getattr(args, "export", None):
        from .export import export

        try:
            index = export(args.export)
        except ValueError as err:
            print_error(f"cannot write the static playground: {err}")
            return 2
        except OSError as err:
            print_error(f"cannot write the static playground to {args.export!r}: "
                        f"{err.strerror or err}; give a folder you can write to")
            return 2
        print(f"static playground written: open {index} or publish {index.parent}")
        return 0
    if args.port is not None and not 0 <= args.port <= 65535:
        print_error(f"--port must be 0..65535 (got {args.port}); 0 picks a free port")
        return 2
    if not 1 <= args.max_sessions <= 10_000:
        print_error(f"--max-sessions must be 1..10000 (got {args.max_sessions})")
        return 2
    announce = ("json" if getattr(args, "json", False)
                else "none" if getattr(args, "quiet", False) else "text")
    try:
        serve(args.host, args.port, not args.no_browser, max_sessions=args.max_sessions,
              announce=announce)
    except OSError as err:
        print_error(_listen_error(args.host, args.port, err))
        return 2
    except KeyboardInterrupt:  # Ctrl+C: the server stopped; 130 as every command (128 + 2)
        return 130
    return 0


def _listen_error(host: str, port: int | None, err: OSError) -> str:
    """What to do when the server cannot listen on ``host:port``."""
    reason = err.strerror or str(err) or type(err).__name__
    where = f"{host}:{DEFAULT_PORT if port is None else port}"
    if isinstance(err, socket.gaierror):
        return (f"--host {host!r} is not a known address ({reason}); use 127.0.0.1 (this "
                "machine only) or an address of one of this machine's network interfaces")
    if err.errno == errno.EADDRINUSE:
        return (f"cannot listen on {where}: the port is already in use; choose another --port "
                "(0 picks a free one)")
    if err.errno == errno.EADDRNOTAVAIL:
        return (f"cannot listen on {where}: {reason}; --host must be an address of this "
                "machine, e.g. 127.0.0.1")
    if err.errno == errno.EACCES:
        return (f"cannot listen on {where}: permission denied; choose a --port of 1024 or "
                "more (0 picks a free one)")
    return f"cannot listen on {where}: {reason}; choose another --host or --port"
