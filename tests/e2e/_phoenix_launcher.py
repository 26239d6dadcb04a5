"""Starts Arize Phoenix with its OTLP gRPC listener on 127.0.0.1 (run with the Phoenix venv's python).

Phoenix binds its gRPC port on every interface ("[::]") and has no setting for it; the end-to-end
tests keep every server on the loopback interface, so the bind address is rewritten before Phoenix
starts. Everything else is ``phoenix serve`` as shipped.
"""

from __future__ import annotations

import sys
from typing import Any

import grpc.aio._server as aio_server

_original_add_insecure_port = aio_server.Server.add_insecure_port


def _loopback_only(self: Any, address: str) -> int:
    return _original_add_insecure_port(self, address.replace("[::]:", "127.0.0.1:"))


aio_server.Server.add_insecure_port = _loopback_only

from phoenix.server.main import main  # noqa: E402  (after the patch, on purpose)

if __name__ == "__main__":
    sys.argv[0] = "phoenix"
    sys.exit(main())
