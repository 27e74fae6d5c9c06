"""One waiting trial to one process, on an SQLite storage too.

Optuna hands a waiting (enqueued) trial out by reading it as WAITING and setting it RUNNING,
trusting a row lock (``SELECT ... FOR UPDATE``) to stop a second process in between. PostgreSQL
and MySQL hold that lock; SQLite has none, and its Python driver opens the write transaction
only at the UPDATE, so two workers polling one SQLite file can both claim the same trial and
train it twice (then one fails, telling a trial the other finished). Measured with Optuna 5.1:
two processes asking 30 trials each of 60 enqueued ones shared 5 of them.

An SQLite file is shared only by processes on one machine, so a file lock beside it makes each
claim whole; other storages need none.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from filelock import FileLock
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

# Long enough for any claim (a few storage round trips); a lock held longer is a stuck process.
CLAIM_TIMEOUT_SECONDS = 120.0


def claiming(storage: str | None) -> AbstractContextManager[None]:
    """A context in which this process claims its next trial of ``storage`` alone."""
    path = sqlite_file(storage)
    return nullcontext() if path is None else _locked(path + ".claim.lock")


def sqlite_file(storage: str | None) -> str | None:
    """The database file of an SQLite storage URL; None for other storages and in-memory ones."""
    if storage is None:
        return None
    try:
        url = make_url(storage)
    except ArgumentError:
        return None
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        return None
    return url.database


@contextmanager
def _locked(path: str) -> Iterator[None]:
    with FileLock(path, timeout=CLAIM_TIMEOUT_SECONDS):
        yield
