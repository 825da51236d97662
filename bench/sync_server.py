"""The baseline the pipeline is measured against: a synchronous HTTP server, one request, one inference.

    python bench/sync_server.py --port 8089

POST /check with the JPEG as the body; the answer is the faces found, as JSON, once the model has run on
that one frame. One thread, no queue, no batching, no broker, no database: the simplest thing that could
serve a gate, on the same engine and with the same sessions (one intra-op thread, no spinning) as a
worker. The benchmark offers it the same open-loop load as the pipeline (bench/pipeline/http_load.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.inference.engine import MaskEngine, build_engine
from services.inference.model.config import ModelConfig
from services.inference.model.interface import FrameResult
from services.inference.session_tuning import worker_model_config
from services.inference.settings import WorkerSettings


def handler_for(engine: MaskEngine) -> type[BaseHTTPRequestHandler]:
    class CheckHandler(BaseHTTPRequestHandler):
        # One request per connection: a single-threaded server would otherwise stay on one kept-alive
        # connection while the other gates' requests wait behind it, which is not the baseline meant.
        protocol_version = "HTTP/1.0"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            (result,) = engine.analyze_batch([body])
            answer = (
                {"faces": [[f.label, round(f.score, 3)] for f in result.faces]}
                if isinstance(result, FrameResult)
                else {"error": result.code}
            )
            payload = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:  # readiness
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return None

    return CheckHandler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    engine = build_engine(worker_model_config(ModelConfig(), WorkerSettings()))
    server = HTTPServer(("127.0.0.1", args.port), handler_for(engine))
    server.request_queue_size = 1024
    server.serve_forever()


if __name__ == "__main__":
    main()
