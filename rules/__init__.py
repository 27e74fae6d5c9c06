"""Built-in fit-advisor rules, one module per rule, each exposing ``RULE``.

They are registered in ``pyproject.toml`` under the ``fit_advisor.rules`` entry-point group, the
same way a third-party rule pack registers its own.
"""
