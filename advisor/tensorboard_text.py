"""``Monitor(log_dir=...)``: the findings as TensorBoard text, beside the user's scalars.

People who watch a run in TensorBoard should not have to look at a terminal as well. Keras'
``TensorBoard`` callback writes a run's scalars under ``log_dir/train`` and
``log_dir/validation``; the findings go to ``log_dir/advisor`` (a third run in the same
dashboard) with ``tf.summary.text``, at the step Keras' callback gives that epoch's scalars
(``epoch - 1``: it counts steps from 0), while the text names the epoch as Keras prints it.
``tf.summary.text`` is TensorBoard's own implementation, so TensorBoard must be installed; the
Monitor refuses ``log_dir`` before training when it is not.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from advisor.findings import Finding

RUN = "advisor"


def require_tensorboard() -> None:
    """Raise ValueError naming the package when ``tf.summary.text`` cannot work."""
    if importlib.util.find_spec("tensorboard") is None:
        raise ValueError(
            "Monitor(log_dir=...) writes findings with tf.summary.text, which needs TensorBoard: "
            "pip install tensorboard"
        )


class FindingsWriter:
    """Write each finding once as a Markdown text summary under ``log_dir/advisor``."""

    def __init__(self, log_dir: str | os.PathLike[str]) -> None:
        import tensorflow as tf

        self.path = Path(log_dir) / RUN
        self._writer = tf.summary.create_file_writer(str(self.path))

    def write(self, epoch: int, finding: Finding) -> None:
        """``finding`` as it reads at (1-based) ``epoch``, at the step Keras' scalars use."""
        import tensorflow as tf

        fixes = f"\n\nsuggested fix: {', '.join(finding.fixes)}" if finding.fixes else ""
        text = (
            f"**{finding.severity.value} {finding.code} {finding.rule}** at epoch {epoch}: "
            f"{finding.message}{fixes}"
        )
        with self._writer.as_default():
            tf.summary.text(f"{finding.code} {finding.rule}", text, step=epoch - 1)
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()
