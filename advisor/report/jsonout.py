"""Strict JSON for ``--format json``: NaN and inf become strings, so any parser accepts it."""

from __future__ import annotations

import json
import math
from typing import Any

from rich.console import Console


def _strict(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {str(k): _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    return value


def dumps(payload: Any) -> str:
    return json.dumps(_strict(payload), indent=2, allow_nan=False, default=str)


def emit(payload: Any, out: Console) -> None:
    """Write ``payload`` to the console's file verbatim: no Rich markup, wrapping or colour."""
    out.file.write(dumps(payload) + "\n")
