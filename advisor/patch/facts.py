"""What the patch needs to know that the edits alone do not say, read from the captured run.

An edit says "the learning rate times 0.1"; the script may say ``optimizer="adam"``, whose rate
is Keras' default. The advisor captured the optimizer before training, so it knows the class
and the rate the user's run started with; the patch writes the resulting number.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

# What fit trained on, as far as the patch must know: Normalization.adapt iterates a pandas
# DataFrame's column names, and a tf.data pipeline's values are read as a stream.
InputKind = Literal["arrays", "frame", "dataset"]


@dataclass(frozen=True)
class ScriptFacts:
    """The user's optimizer class (``"Adam"``) and starting learning rate (None for a
    schedule), the epochs their fit asked for, and the line of the diagnosed ``fit`` call."""

    optimizer: str
    learning_rate: float | None
    user_epochs: int | None = None
    fit_line: int | None = None
    inputs: InputKind = "arrays"


def facts_from_optimizer(
    optimizer: str | Mapping[str, Any],
    *,
    user_epochs: int | None,
    fit_line: int | None,
    inputs: InputKind = "arrays",
) -> ScriptFacts:
    """Facts from the optimizer as capture serialised it: a Keras name (``"adam"``, whose
    class and default rate Keras knows) or a ``{"class_name", "config"}`` mapping."""
    if isinstance(optimizer, str):
        import keras  # only the diagnose path builds facts, with Keras already loaded

        instance = keras.optimizers.get(optimizer)
        return ScriptFacts(
            optimizer=type(instance).__name__,
            learning_rate=float(instance.learning_rate),
            user_epochs=user_epochs,
            fit_line=fit_line,
            inputs=inputs,
        )
    rate = optimizer.get("config", {}).get("learning_rate")
    return ScriptFacts(
        optimizer=str(optimizer.get("class_name", "Adam")),
        learning_rate=float(rate) if isinstance(rate, int | float) else None,
        user_epochs=user_epochs,
        fit_line=fit_line,
        inputs=inputs,
    )
