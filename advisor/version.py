"""The installed version, read from the package metadata so that ``pyproject.toml`` is the one
place it is written. Read when first asked for: looking it up costs a start-up that
``advisor check`` in the rich or concise format does not need to pay."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # costs a Python start

    try:
        return version("fit-advisor")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree never installed
        return "0+unknown"
