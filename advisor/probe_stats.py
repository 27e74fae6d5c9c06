"""What the instrumented probing fit measured inside the model, as plain frozen data.

The probe records, on one fixed batch of the training data and at a few epochs, each layer's
gradient norm, weight norm and weight-update ratio, and the share of dead ReLU units or
saturated sigmoid/tanh outputs of hidden layers. :mod:`advisor.training.instrumentation` does
the measuring (TensorFlow); this module holds the numbers without TensorFlow, so the rules that
judge them, the JSON report and ``advisor check`` on a recorded corpus never import it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

# The activations whose outputs the probe judges, and the part of each output range that counts
# as "at a bound": 1 % of the range (sigmoid below 0.01 or above 0.99, tanh beyond +-0.98).
SATURATING_BOUNDS: Mapping[str, tuple[float, float]] = {
    "sigmoid": (0.0, 1.0),
    "tanh": (-1.0, 1.0),
}
SATURATION_MARGIN = 0.01
RECTIFIERS = ("relu",)


@dataclass(frozen=True)
class LayerStats:
    """One layer's measurements, one value per recorded epoch (see :attr:`ProbeStats.epochs`).

    ``gradient_norms`` and ``weight_norms`` are L2 norms over all the layer's trainable weights
    (empty for a layer without any). ``update_ratios`` holds ``||w_t - w_(t-1)|| / ||w_(t-1)||``
    between consecutive records, so one value fewer. ``dead_fractions`` (ReLU layers) is the
    share of units whose output is 0 for every sample of the batch; ``saturated_fractions``
    (sigmoid/tanh layers) the share of outputs within 1 % of the activation's bounds. Both are
    measured on hidden layers only: a confident output layer is not a fault.
    """

    name: str
    kind: str
    activation: str | None
    n_weights: int
    gradient_norms: tuple[float, ...] = ()
    weight_norms: tuple[float, ...] = ()
    update_ratios: tuple[float, ...] = ()
    dead_fractions: tuple[float, ...] = ()
    saturated_fractions: tuple[float, ...] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LayerStats:
        return cls(
            name=str(data["name"]),
            kind=str(data["kind"]),
            activation=None if data.get("activation") is None else str(data["activation"]),
            n_weights=int(data["n_weights"]),
            **{key: _floats(data.get(key, ())) for key in _SERIES},
        )


_SERIES = (
    "gradient_norms",
    "weight_norms",
    "update_ratios",
    "dead_fractions",
    "saturated_fractions",
)


def _floats(values: Sequence[Any]) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


@dataclass(frozen=True)
class ProbeStats:
    """Per-layer measurements of the probing fit, in the model's layer order.

    ``epochs`` are the epochs after which a record was taken; 0 is before the first step.
    ``seconds`` is the time the measuring itself took (the probe's overhead).
    """

    epochs: tuple[int, ...]
    batch_size: int
    layers: tuple[LayerStats, ...]
    seconds: float = 0.0

    @property
    def weighted_layers(self) -> tuple[LayerStats, ...]:
        """Layers with trainable weights, input side first."""
        return tuple(layer for layer in self.layers if layer.n_weights and layer.gradient_norms)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (tuples become lists when written)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProbeStats:
        """Read what :meth:`to_dict` wrote; a malformed mapping raises ``ValueError``."""
        try:
            return cls(
                epochs=tuple(int(e) for e in data["epochs"]),
                batch_size=int(data["batch_size"]),
                layers=tuple(LayerStats.from_dict(layer) for layer in data["layers"]),
                seconds=float(data.get("seconds", 0.0)),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"malformed probe statistics: {error!r}") from error
