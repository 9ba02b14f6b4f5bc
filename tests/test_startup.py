"""Start-up of `refcodec decode` (issue 11 item 10): decoding one small image to PNG imports no heavy module it
does not need (numba, imageio, scipy, torch, matplotlib), and `refcodec --help` imports no command's
dependencies. Time is measured in bench/bench_startup.py (as a ratio), not here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("numba", "llvmlite", "imageio", "scipy", "torch", "matplotlib")
PROBE = """
import sys
from refcodec.cli.main import cli
try:
    cli(sys.argv[1:], prog_name="refcodec")
except SystemExit as e:
    assert not e.code, e.code
print("MODULES", " ".join(sorted({m.split('.')[0] for m in sys.modules})))
"""


def _modules_after(*args: str) -> set[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), REFCODEC_ENTROPY_KERNEL="auto")
    r = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=env, cwd=ROOT,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("MODULES ")][-1]
    return set(line.split()[1:])


@pytest.fixture(scope="module")
def small_streams(tmp_path_factory) -> dict[str, Path]:
    """224 x 224 streams of a real picture with the bundled model, context Huffman and Huffman."""
    import numpy as np
    from PIL import Image

    from refcodec.codec import encode_frames
    from refcodec.model.registry import default_model

    rgb = np.asarray(Image.open(ROOT / "vectors" / "kodim23_224" / "input.png").convert("RGB"))
    folder = tmp_path_factory.mktemp("startup")
    out = {}
    for entropy in ("ctx", "huffman"):
        out[entropy] = folder / f"{entropy}.mcuc"
        out[entropy].write_bytes(encode_frames([rgb], default_model(), entropy=entropy))
    return out


@pytest.mark.parametrize("entropy", ["ctx", "huffman"])
def test_decode_small_image_imports_nothing_heavy(entropy, small_streams, tmp_path):
    """The entropy decoder runs in plain Python below its budget (refcodec.entropy.kernels), the CLI imports
    only the decode command, and the PNG is written with Pillow."""
    out = tmp_path / "x.png"
    loaded = _modules_after("decode", str(small_streams[entropy]), "-o", str(out))
    assert out.is_file()
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_help_imports_nothing_heavy():
    loaded = _modules_after("--help")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
