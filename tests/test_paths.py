"""One place for data paths (issue 12 item 5): refcodec.paths, with the REFCODEC_DATA override."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from refcodec import paths

ROOT = Path(__file__).resolve().parents[1]


def test_env_override(monkeypatch, tmp_path):
    monkeypatch.setenv("REFCODEC_DATA", str(tmp_path))
    assert paths.data_root() == tmp_path and paths.kodak_dir() == tmp_path / "kodak"
    assert paths.train_dir() == tmp_path / "train" and paths.video_dir() == tmp_path / "video"
    monkeypatch.delenv("REFCODEC_DATA")
    assert paths.data_root() == ROOT.parent / "shared" / "datasets"


def test_modules_take_their_defaults_from_refcodec_paths(tmp_path):
    code = ("import refcodec.entropy.measure as m, refcodec.vectors.generate as g; "
            "print(m.DATASETS); print(g.kodak_dir())")
    env = dict(os.environ, REFCODEC_DATA=str(tmp_path), PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == [str(tmp_path), str(tmp_path / "kodak")]


def test_no_other_module_builds_the_data_path():
    """Only refcodec/paths.py (and tests/datasets.py) may spell out the shared data folder."""
    pattern = re.compile(r'["\']shared["\']')
    offenders = [str(p.relative_to(ROOT)) for folder in ("refcodec", "tests", "bench")
                 for p in (ROOT / folder).rglob("*.py")
                 if p.name not in ("paths.py", "datasets.py", "test_paths.py") and pattern.search(p.read_text())]
    assert offenders == []
