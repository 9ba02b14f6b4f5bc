"""Validate streams with the machine-readable container description (bitstream_spec/), which is kept
independent of refcodec's code. Every stream a stream test produces goes through `spec_valid`."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_PATH = Path(__file__).resolve().parents[1] / "bitstream_spec" / "check_stream.py"
_spec = importlib.util.spec_from_file_location("mcuc_check_stream", _PATH)
check_stream_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_stream_module)

StreamCheckError = check_stream_module.StreamCheckError


def spec_valid(data: bytes) -> bytes:
    """Assert `data` parses with bitstream_spec/mcuc_construct.py (+ §7.4 rules); return it unchanged."""
    check_stream_module.check_stream(bytes(data))
    return data


def spec_rejects(data: bytes) -> bool:
    """True when the construct description rejects `data`."""
    try:
        check_stream_module.check_stream(bytes(data))
    except StreamCheckError:
        return True
    return False
