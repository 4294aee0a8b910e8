"""Voice activity detection with Silero VAD, the model faster-whisper ships, streaming.

faster-whisper carries Silero VAD v6 (MIT licence) as an ONNX file in its package assets; no
download. Its own helper runs the model over a whole recording; a conversation needs one answer
per 32 ms window as audio arrives, with the model's recurrent state carried from one window to
the next. So this adapter drives the same ONNX session window by window: 512 new samples at
16 kHz plus the 64 samples before them as context, and the state tensors ``h`` and ``c`` kept
between calls. One ``StreamingVad`` per conversation (the state is the conversation's); the
ONNX session is shared by all of them (it is thread-safe and small).
"""

from __future__ import annotations

import os
from functools import cache

import numpy as np
import numpy.typing as npt

__all__ = ["CONTEXT", "WINDOW", "StreamingVad", "silero_session"]

WINDOW = 512
"""Samples per window at 16 kHz (32 ms)."""
CONTEXT = 64


@cache
def silero_session() -> object:
    """Load the ONNX session of faster-whisper's Silero VAD, once per process."""
    # Neither ships type information.
    import onnxruntime  # type: ignore[import-untyped]
    from faster_whisper.utils import get_assets_path  # type: ignore[import-untyped]

    options = onnxruntime.SessionOptions()
    # One thread: the conversation runs many of these, and the model is tiny.
    options.inter_op_num_threads = 1
    options.intra_op_num_threads = 1
    options.log_severity_level = 4
    path = os.path.join(get_assets_path(), "silero_vad_v6.onnx")
    return onnxruntime.InferenceSession(
        path, providers=["CPUExecutionProvider"], sess_options=options
    )


class StreamingVad:
    """Speech probabilities for 16 kHz float audio, window by window."""

    def __init__(self) -> None:
        self._session = silero_session()
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)

    def feed(self, samples: npt.NDArray[np.float32]) -> list[float]:
        """Add 16 kHz samples in [-1, 1]; return one probability per completed window."""
        self._pending = np.concatenate([self._pending, samples.astype(np.float32)])
        probabilities = []
        while self._pending.shape[0] >= WINDOW:
            window = self._pending[:WINDOW]
            self._pending = self._pending[WINDOW:]
            batch = np.concatenate([self._context, window])[np.newaxis, :]
            output, self._h, self._c = self._session.run(  # type: ignore[attr-defined]
                None, {"input": batch, "h": self._h, "c": self._c}
            )
            self._context = window[-CONTEXT:]
            probabilities.append(float(np.asarray(output).reshape(-1)[0]))
        return probabilities
