"""Training configurations. ``cpu``: what a 2-core CPU can train in about an hour; ``tiny``: a few steps
for the CI test of the whole pipeline."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from refcodec.errors import InvalidArgumentError


@dataclass(frozen=True)
class TrainConfig:
    name: str
    widths: tuple[int, int, int]  # decoder channels at 1/8, 1/4, 1/2 resolution
    blocks: tuple[int, int, int]  # residual bottleneck blocks at each of those resolutions
    crop: int  # training crop side (pixels)
    batch: int
    lr: float
    warmup: int  # linear LR warm-up steps
    train_bits: int  # latent quantizer bits simulated in training (uniform noise of that step)
    latent_bound: float  # A: the latent is clamped to [-A, A] (int8 saturation does the same)
    bound_penalty: float  # weight of mean(relu(|pre-clamp latent| - A)^2)
    l1_weight: float  # loss = (1 - l1_weight) * (1 - MS-SSIM) + l1_weight * L1  (Zhao et al. 2017 mix)
    n_images: int | None  # None: the whole training folder
    min_scale: float
    threads: int

    def to_dict(self) -> dict:
        return asdict(self)


CONFIGS = {
    "cpu": TrainConfig("cpu", widths=(128, 96, 64), blocks=(1, 2, 2), crop=128, batch=16, lr=1e-3, warmup=200,
                       train_bits=5, latent_bound=1.0, bound_penalty=1.0, l1_weight=0.16, n_images=None,
                       min_scale=0.45, threads=2),
    "tiny": TrainConfig("tiny", widths=(16, 16, 8), blocks=(1, 1, 1), crop=64, batch=2, lr=1e-3, warmup=0,
                        train_bits=5, latent_bound=1.0, bound_penalty=1.0, l1_weight=0.16, n_images=4,
                        min_scale=0.45, threads=1),
}


def get_config(name: str) -> TrainConfig:
    if name not in CONFIGS:
        raise InvalidArgumentError(f"unknown training config {name!r}, expected one of {sorted(CONFIGS)}")
    return CONFIGS[name]
