"""Run .tflite bytes in TensorFlow Lite Micro's Python interpreter (PyPI `tflite-micro`): the
independent oracle for the int8 kernels. Import this only after `pytest.importorskip("tflite_micro")`
(or call `require_tflm()`)."""

from __future__ import annotations

import numpy as np


def require_tflm():
    """Return the tflite_micro runtime module, skipping the calling test if it is not installed."""
    import pytest

    pytest.importorskip("tflite_micro")
    from tflite_micro.python.tflite_micro import runtime

    return runtime


def _runtime():
    from tflite_micro.python.tflite_micro import runtime

    return runtime


def make_interpreter(model: bytes, arena_size: int | None = None):
    """A TFLM interpreter for `model`; the arena defaults to a generous size for small conv chains."""
    rt = _runtime()
    if arena_size is None:
        arena_size = max(len(model) * 10, 4 << 20)
    return rt.Interpreter.from_bytes(model, arena_size=arena_size)


def run_tflm(model: bytes, x: np.ndarray, interpreter=None) -> list[np.ndarray]:
    """Invoke `model` on int8 input x ([H, W, C] or [1, H, W, C]); return every subgraph output
    (for refcodec.tflite chains: one int8 [OH, OW, C] per layer, batch dim dropped)."""
    interp = interpreter if interpreter is not None else make_interpreter(model)
    x = np.asarray(x, dtype=np.int8)
    if x.ndim == 3:
        x = x[None]
    interp.set_input(np.ascontiguousarray(x), 0)
    interp.invoke()
    return [np.array(interp.get_output(i))[0] for i in range(num_outputs(model))]


def num_outputs(model: bytes) -> int:
    """Number of outputs of subgraph 0, read from the flatbuffer."""
    import tflite

    return tflite.Model.GetRootAs(model, 0).Subgraphs(0).OutputsLength()
