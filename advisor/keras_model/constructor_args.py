"""The arguments each subclassed model was constructed with, while a script is captured.

A ``keras.Model`` subclass whose ``__init__`` takes no ``**kwargs`` (``class Net(keras.Model):
def __init__(self): ...``, the way most training scripts write one) cannot be recreated from
its config: Keras passes ``trainable`` and ``dtype`` back to it. The advisor needs a fresh copy
for every fit, so capture records what the class was called with (``Model.__new__`` receives
the constructor's arguments) and the rebuild calls the class again with them.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import keras

_RECORDED: weakref.WeakKeyDictionary[Any, tuple[tuple[Any, ...], Mapping[str, Any]]] = (
    weakref.WeakKeyDictionary()
)


@contextmanager
def constructor_args_recorded() -> Iterator[None]:
    """Record the constructor arguments of every subclassed model made inside the block."""
    original = keras.Model.__dict__["__new__"]
    make = original.__func__

    def recording_new(cls: type, *args: Any, **kwargs: Any) -> Any:
        instance = make(cls, *args, **kwargs)
        if cls is not keras.Model and isinstance(instance, cls):
            _RECORDED[instance] = (args, dict(kwargs))
        return instance

    keras.Model.__new__ = staticmethod(recording_new)
    try:
        yield
    finally:
        keras.Model.__new__ = original


def constructor_args(model: Any) -> tuple[tuple[Any, ...], Mapping[str, Any]] | None:
    """What ``model``'s class was called with, when capture saw it made."""
    return _RECORDED.get(model)
