"""``/healthz`` and ``/readyz``, served from the operator's own event loop.

Liveness and readiness say different things. ``/healthz`` answers as long as the event loop
does: a loop blocked by a runaway diagnosis does not answer, and the kubelet restarts it; an
API server that is away is no reason to restart. ``/readyz`` says whether this replica is
doing its job right now: it leads (or runs alone), the pods and their built-in owners have
been listed, and the API server answered lately; a standby or a replica cut off from the API
server is not ready (and a metrics Service then routes to the one that is).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from aiohttp import web

Readiness = Callable[[], tuple[bool, str]]


async def serve(port: int, ready: Readiness, host: str = "0.0.0.0") -> web.AppRunner:
    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(_: web.Request) -> web.Response:
        ok, why = ready()
        return web.Response(status=200 if ok else 503, content_type="application/json",
                            text=json.dumps({"ready": ok, "reason": why}) + "\n")

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
