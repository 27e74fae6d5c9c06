"""The built-in fixes, one module each, each exposing ``FIX`` (registered in pyproject.toml)."""
