"""A webhook receiver for the labs: ``workbench lab receiver`` on 127.0.0.1.

It answers every POST with 204, prints one line per message (its ``text`` field, as a chat
channel would show it) and appends the JSON body to a file, so a learner sees the alert
arrive and a checker can read it. Standard library only; for a class, not for production.
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

__all__ = ["serve_receiver"]


def serve_receiver(port: int, out: Path) -> None:
    """Receive webhooks on 127.0.0.1:``port`` until interrupted (Ctrl-C or SIGTERM)."""
    import signal

    out = Path(out)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            try:
                message = json.loads(body)
            except ValueError:
                message = {"text": body.decode(errors="replace")}
            with out.open("a", encoding="utf-8") as sink:
                sink.write(json.dumps(message) + "\n")
            text = message.get("text", "") if isinstance(message, dict) else ""
            first = str(text).splitlines()[0] if text else "(no text)"
            print(f"received: {first}", flush=True)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)

    def stop(*_args: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(f"receiving webhooks at http://127.0.0.1:{port}/ into {out}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        sys.stdout.flush()
