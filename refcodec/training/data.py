"""Training data: the BSDS JPEGs of ../shared/datasets/train, loaded once into memory as uint8, with
random rescaling (antialiased bilinear), random crops and horizontal flips. Kodak is never used here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from refcodec.errors import InputFileError, InvalidArgumentError
from refcodec.media.reader import list_images as media_list_images
from refcodec.media.reader import read_image
from refcodec.paths import train_dir

DEFAULT_TRAIN_DIR = train_dir()  # refcodec.paths: $REFCODEC_DATA/train or ../shared/datasets/train


def list_images(folder: Path, limit: int | None = None) -> list[Path]:
    """The images of a training folder (refcodec.media.reader.list_images: the package's one suffix list)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputFileError(f"training folder {str(folder)!r} does not exist")
    return media_list_images(folder, limit)


def load_rgb(path: Path) -> np.ndarray:
    """uint8 [H, W, 3] (refcodec.media.read_image: the package's one image reader)."""
    return read_image(path)


class CropSampler:
    """Random crops of crop x crop pixels from in-memory uint8 images.

    Each sample: pick an image, a scale s uniform in [min_scale, 1] (clipped so that the source window of
    crop / s pixels fits), a random source window, resize it to crop x crop (bilinear, antialiased),
    flip horizontally with probability 1/2. batch() returns float32 [N, 3, crop, crop] in [0, 1].
    """

    def __init__(self, images: list[np.ndarray], crop: int, min_scale: float = 0.45, seed: int = 0):
        if crop < 8 or crop % 8:
            raise InvalidArgumentError(f"crop {crop} must be a positive multiple of 8")
        self.images = [torch.from_numpy(np.ascontiguousarray(im.transpose(2, 0, 1))) for im in images]
        small = [im for im in self.images if min(im.shape[1:]) < crop]
        if small:
            raise InvalidArgumentError(f"an image of {tuple(small[0].shape[1:])} is smaller than crop {crop}")
        self.crop = crop
        self.min_scale = min_scale
        self.rng = np.random.default_rng(seed)

    def sample(self) -> torch.Tensor:
        im = self.images[self.rng.integers(len(self.images))]
        h, w = im.shape[1:]
        lo = max(self.min_scale, self.crop / min(h, w))
        s = self.rng.uniform(lo, 1.0)
        src = min(int(round(self.crop / s)), h, w)
        y0 = self.rng.integers(0, h - src + 1)
        x0 = self.rng.integers(0, w - src + 1)
        patch = im[:, y0:y0 + src, x0:x0 + src].float().unsqueeze(0) / 255.0
        if src != self.crop:
            patch = F.interpolate(patch, size=(self.crop, self.crop), mode="bilinear",
                                  align_corners=False, antialias=True).clamp_(0.0, 1.0)
        if self.rng.random() < 0.5:
            patch = patch.flip(-1)
        return patch

    def batch(self, n: int) -> torch.Tensor:
        return torch.cat([self.sample() for _ in range(n)], 0)


def load_images(folder: Path = DEFAULT_TRAIN_DIR, limit: int | None = None) -> list[np.ndarray]:
    return [load_rgb(p) for p in list_images(folder, limit)]
