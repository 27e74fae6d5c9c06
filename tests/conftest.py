"""Shared test set-up: quiet TensorFlow logs, and paths to the bundled fixtures."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jsonschema

from advisor.report.jsonout import SCHEMA_PATH

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"

_JSON_SCHEMA = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))


def validate_json_output(document: Any) -> None:
    """The committed JSON Schema accepts ``document`` (raises naming the offending path if not)."""
    _JSON_SCHEMA.validate(document)
