"""Rendering API objects: orjson straight to bytes, no second validation pass."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


def json_response(body: dict[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")
