"""Decoder weight files: ``decoder-<first 8 hex of the file's sha256>.npz`` (allow_pickle=False).

Content: one float32 array per parameter, named and laid out as the PyTorch state dict of
refcodec.training.nets.Decoder (conv weights OIHW, transposed-conv weights IOHW, biases [C]), plus
``__meta__``: a JSON header stored as a uint8 array ({"format": "refcodec-decoder", "version": 1,
"widths": [C1, C2, C3], "blocks": [B1, B2, B3], optional "padding": "zeros" (the default when absent), "replicate" or
"replicate-up" (refcodec.decoder.numpy_decoder.PADDINGS), ...}). The hash in the name is checked on load.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path

import numpy as np

from refcodec.errors import InputFileError, ModelFileError
from refcodec.io_utils import atomic_write

FORMAT = "refcodec-decoder"
VERSION = 1
ASSETS_DIR = Path(__file__).resolve().parents[1] / "assets"
NAME_RE = re.compile(r"^decoder-([0-9a-f]{8})\.npz$")
MAX_BYTES = 15 * 1024 * 1024


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_decoder_weights(arrays: dict[str, np.ndarray], meta: dict, folder: Path,
                          replace_existing: bool = True) -> Path:
    """Write arrays + meta to folder/decoder-<hash8>.npz atomically; remove older decoder-*.npz there
    when replace_existing. Returns the path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    header = dict(meta, format=FORMAT, version=VERSION)
    payload = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in arrays.items()}
    payload["__meta__"] = np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez(buf, **payload)
    data = buf.getvalue()
    if len(data) > MAX_BYTES:
        raise ModelFileError(f"decoder weights of {len(data)} bytes exceed the {MAX_BYTES} byte limit")
    path = folder / f"decoder-{_sha256(data)[:8]}.npz"
    atomic_write(path, data)
    if replace_existing:
        for old in folder.glob("decoder-*.npz"):
            if old != path:
                old.unlink()
    return path


def find_bundled(folder: Path = ASSETS_DIR) -> Path:
    """The single decoder-*.npz in the assets folder."""
    found = sorted(p for p in Path(folder).glob("decoder-*.npz") if NAME_RE.match(p.name))
    if len(found) != 1:
        raise InputFileError(f"expected exactly one decoder-<hash>.npz in {str(folder)!r}, found {len(found)}")
    return found[0]


def read_decoder_weights(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    """Load and verify a decoder weight file. Returns (arrays float32, meta)."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"decoder weights {str(path)!r} do not exist")
    data = path.read_bytes()
    m = NAME_RE.match(path.name)
    if m and _sha256(data)[:8] != m.group(1):
        raise ModelFileError(f"decoder weights {path.name!r} have sha256 {_sha256(data)[:8]}, "
                             f"not the {m.group(1)} of their name")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as exc:  # zip / npy format errors of many kinds
        raise ModelFileError(f"decoder weights {str(path)!r} are not a valid .npz: {exc}") from None
    if "__meta__" not in arrays:
        raise ModelFileError(f"decoder weights {str(path)!r} have no __meta__ header")
    try:
        meta = json.loads(arrays.pop("__meta__").tobytes().decode())
    except ValueError:
        raise ModelFileError(f"decoder weights {str(path)!r} have an unreadable __meta__ header") from None
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise ModelFileError(f"decoder weights {str(path)!r}: unsupported format "
                             f"{meta.get('format')!r} version {meta.get('version')!r}")
    for k, v in arrays.items():
        if v.dtype != np.float32:
            raise ModelFileError(f"decoder weight {k!r} has dtype {v.dtype}, expected float32")
        if not np.all(np.isfinite(v)):
            raise ModelFileError(f"decoder weight {k!r} holds non-finite values")
    return arrays, meta
