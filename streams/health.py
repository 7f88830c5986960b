"""The worker's HTTP endpoint on the metrics port: /metrics, /healthz and /readyz.

/healthz answers while the process serves requests; /readyz only while the worker has
partitions assigned, Redis answers, and it is not stuck (it processed a batch recently or has
nothing to process). Both are plain text, never carry settings or customer data.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest


@dataclass
class Readiness:
    """Facts the worker loop updates; the HTTP thread only reads them."""

    assigned_partitions: int = 0
    redis_ok: bool = False
    stuck_after_s: float = 120.0
    last_progress: float = field(default_factory=time.monotonic)
    lag: dict[tuple[str, int], int] = field(default_factory=dict)  # (topic, partition) -> messages behind

    @property
    def backlog(self) -> int:
        return sum(self.lag.values())

    def reasons(self) -> list[str]:
        problems = []
        if self.assigned_partitions == 0:
            problems.append("no partitions assigned")
        if not self.redis_ok:
            problems.append("redis unavailable")
        if self.backlog > 0 and time.monotonic() - self.last_progress > self.stuck_after_s:
            problems.append(f"no progress for {int(time.monotonic() - self.last_progress)}s with {self.backlog} messages waiting")
        return problems


def serve(port: int, registry: CollectorRegistry, readiness: Readiness, addr: str = "0.0.0.0") -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, generate_latest(registry), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                self._send(200, b"ok\n")
            elif path == "/readyz":
                problems = readiness.reasons()
                self._send(503 if problems else 200, ("; ".join(problems) or "ready").encode() + b"\n")
            else:
                self._send(404, b"not found\n")

        def _send(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((addr, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="amlstream-http", daemon=True).start()
    return server
