"""The one exception type the command line turns into a one-line message and exit code 2.

Anything the user can get wrong (a bad file, a script that raises, an uncompiled model) is
raised as an :class:`AdvisorError` with a sentence that names the file or object and says what
was expected. Any other exception is a bug in the advisor, not in the user's input.
"""

from __future__ import annotations


class AdvisorError(Exception):
    """A problem with the user's input, reported without a traceback."""
