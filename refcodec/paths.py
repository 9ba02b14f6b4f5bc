"""Where the large data sets are (Kodak, the training images, the video clips): one place, one override.

The data live outside the repository (they are never copied into it): by default in `../shared/datasets` next
to the checkout, with the folders `kodak/`, `train/` and `video/`. The environment variable REFCODEC_DATA
names another folder holding the same three; a missing folder is not an error here: whoever needs a data set
checks that it exists (tests skip with the reason, commands report the path).
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "REFCODEC_DATA"
DEFAULT_DATA_ROOT = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def data_root() -> Path:
    """$REFCODEC_DATA if set (and not empty), else ../shared/datasets next to the checkout."""
    env = os.environ.get(ENV_VAR, "")
    return Path(env).expanduser() if env else DEFAULT_DATA_ROOT


def dataset_dir(name: str) -> Path:
    """data_root() / name, e.g. dataset_dir("kodak")."""
    return data_root() / name


def kodak_dir() -> Path:
    """The 24 Kodak images (evaluation only: never used for fitting or training)."""
    return dataset_dir("kodak")


def train_dir() -> Path:
    """The training images (BSDS500 train)."""
    return dataset_dir("train")


def video_dir() -> Path:
    """The test video clips."""
    return dataset_dir("video")
