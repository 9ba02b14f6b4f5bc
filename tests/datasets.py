"""Test data: the large data sets through refcodec.paths (REFCODEC_DATA overrides ../shared/datasets), with a
skip that says what is missing and where it was looked for, and small committed fixtures for unit tests.

The fixtures are the source frames of the conformance vectors (vectors/*/input.png, crops of Kodak photos,
committed anyway), so unit tests need no data set and add no bytes to the repository.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from refcodec.paths import ENV_VAR, dataset_dir

ROOT = Path(__file__).resolve().parents[1]
KODAK = dataset_dir("kodak")
TRAIN = dataset_dir("train")
VIDEO = dataset_dir("video")

# small fixtures (committed): real photo content at odd and even sizes
PHOTO_224 = ROOT / "vectors" / "kodim23_224" / "input.png"            # 224 x 224 crop of kodim23
PHOTO_96x128 = ROOT / "vectors" / "kodim08_crop96x128" / "input.png"  # 96 x 128 (H x W) crop of kodim08
TRAIN_FIXTURES = (ROOT / "vectors" / "kodim01_crop64" / "input.png",  # never the frames a test codes
                  ROOT / "vectors" / "single_kodim19_crop40x56" / "input.png")


def _reason(what: str, path: Path) -> str:
    return f"needs {what} at {path} (set {ENV_VAR} to the folder holding kodak/, train/ and video/)"


def needs(path: Path, what: str):
    """A skipif mark for a test that needs the data set folder `path`."""
    return pytest.mark.skipif(not path.is_dir(), reason=_reason(what, path))


needs_kodak = needs(KODAK, "the Kodak images")
needs_train = needs(TRAIN, "the training images")


def require_file(path: Path, what: str) -> Path:
    """Skip the running test when `path` is missing; return it otherwise."""
    if not path.is_file():
        pytest.skip(_reason(what, path))
    return path


def video_clips() -> list:
    """Parameters for a test over every clip: the clip names, or one parameter that skips with the reason."""
    clips = sorted(p.name for p in VIDEO.glob("*.mp4")) if VIDEO.is_dir() else []
    return clips or [pytest.param("no-clip", marks=pytest.mark.skip(reason=_reason("the video clips", VIDEO)))]
