"""Train the float encoder + decoder (stage 1), resumable.

    python -m refcodec.training.train --config cpu --steps N --out runs/NAME [--resume]

Per step: random crops x in [0, 1]; pre = encoder(x); latent = clamp(pre, -A, A) (the INT8 latent
saturates the same way); latent += U(-step/2, step/2) with step = 2A / (2^train_bits - 1) (simulated
latent quantizer); stochastic tail-drop: sample i keeps the first k_i channels, k_i uniform in 1..12, the
rest are exactly 0; x_hat = decoder(latent). Loss = (1 - w) (1 - MS-SSIM) + w L1 + p mean(relu(|pre| - A)^2).

Checkpoints (torch.save of state dicts, never committed) go to OUT/ckpt.pt every --ckpt-every seconds,
at the end and on SIGTERM; log lines (JSON) to OUT/log.jsonl; progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from refcodec.io_utils import atomic_path
from refcodec.training.config import TrainConfig, get_config
from refcodec.training.data import DEFAULT_TRAIN_DIR, CropSampler, load_images
from refcodec.training.msssim import ms_ssim
from refcodec.training.nets import LATENT_CHANNELS, Decoder, Encoder


def build(cfg: TrainConfig) -> tuple[Encoder, Decoder]:
    return Encoder(), Decoder(cfg.widths, cfg.blocks)


def tail_drop_mask(n: int, channels: int = LATENT_CHANNELS, generator=None, k: int | None = None) -> torch.Tensor:
    """float [n, channels, 1, 1]: 1 for the first k_i channels of sample i, 0 after; k_i uniform in 1..channels
    (or the given k for every sample)."""
    if k is None:
        ks = torch.randint(1, channels + 1, (n,), generator=generator)
    else:
        ks = torch.full((n,), k)
    return (torch.arange(channels).view(1, -1) < ks.view(-1, 1)).float().view(n, channels, 1, 1)


def simulate_latent(pre: torch.Tensor, cfg: TrainConfig, noise: bool = True) -> torch.Tensor:
    a = cfg.latent_bound
    lat = pre.clamp(-a, a)
    if noise:
        step = 2 * a / (2 ** cfg.train_bits - 1)
        lat = lat + (torch.rand_like(lat) - 0.5) * step
    return lat


def loss_fn(x, x_hat, pre, cfg: TrainConfig):
    msssim = ms_ssim(x_hat, x).mean()
    l1 = (x_hat - x).abs().mean()
    excess = F.relu(pre.abs() - cfg.latent_bound).pow(2).mean()
    loss = (1 - cfg.l1_weight) * (1 - msssim) + cfg.l1_weight * l1 + cfg.bound_penalty * excess
    return loss, {"msssim": float(msssim.detach()), "l1": float(l1.detach()), "excess": float(excess.detach())}


def save_checkpoint(path: Path, state: dict) -> None:
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: Path) -> dict:
    # Our own run-time checkpoints only (weights_only: no arbitrary pickled objects).
    return torch.load(path, map_location="cpu", weights_only=True)


def train(cfg: TrainConfig, steps: int, out: Path, resume: bool = False, data_dir: Path = DEFAULT_TRAIN_DIR,
          ckpt_every: float = 120.0, lr: float | None = None, seed: int = 0, log_every: int = 50,
          quiet: bool = False) -> dict:
    """Train until ``steps`` total steps (counting resumed ones). Returns the final checkpoint dict."""
    torch.set_num_threads(cfg.threads)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt_path = out / "ckpt.pt"
    torch.manual_seed(seed)
    enc, dec = build(cfg)
    params = list(enc.parameters()) + list(dec.parameters())
    base_lr = lr if lr is not None else cfg.lr
    opt = torch.optim.Adam(params, lr=base_lr)
    step, seconds = 0, 0.0
    if resume and ckpt_path.exists():
        ck = load_checkpoint(ckpt_path)
        if ck["config"]["name"] != cfg.name:
            raise SystemExit(f"checkpoint config {ck['config']['name']!r} != {cfg.name!r}")
        enc.load_state_dict(ck["encoder"])
        dec.load_state_dict(ck["decoder"])
        opt.load_state_dict(ck["optimizer"])
        step, seconds = int(ck["step"]), float(ck["seconds"])
    images = load_images(data_dir, cfg.n_images)
    sampler = CropSampler(images, cfg.crop, cfg.min_scale, seed=seed + step)
    gen = torch.Generator().manual_seed(seed + 7919 * step)
    log = open(out / "log.jsonl", "a")
    last_ckpt = time.time()
    t0 = time.time()
    run_start_seconds = seconds
    hist = []

    def state():
        return {"config": cfg.to_dict(), "encoder": enc.state_dict(), "decoder": dec.state_dict(),
                "optimizer": opt.state_dict(), "step": step, "seconds": seconds}

    stop = []
    old_handler = None
    try:  # SIGTERM: finish the current step, write the checkpoint, return
        old_handler = signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    except ValueError:  # not in the main thread
        pass
    enc.train()
    dec.train()
    while step < steps and not stop:
        cur_lr = base_lr * min(1.0, (step + 1) / cfg.warmup) if cfg.warmup else base_lr
        for g in opt.param_groups:
            g["lr"] = cur_lr
        x = sampler.batch(cfg.batch)
        pre = enc(x)
        lat = simulate_latent(pre, cfg) * tail_drop_mask(x.shape[0], generator=gen)
        x_hat = dec(lat)
        loss, parts = loss_fn(x, x_hat, pre, cfg)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        seconds = run_start_seconds + (time.time() - t0)
        hist.append(float(loss.detach()))
        if step % log_every == 0 or step == steps:
            rec = {"step": step, "loss": float(np.mean(hist)), "seconds": round(seconds, 1), "lr": cur_lr, **parts}
            hist = []
            log.write(json.dumps(rec) + "\n")
            log.flush()
            if not quiet:
                print(json.dumps(rec), file=sys.stderr, flush=True)
        if time.time() - last_ckpt > ckpt_every:
            save_checkpoint(ckpt_path, state())
            last_ckpt = time.time()
    final = state()
    save_checkpoint(ckpt_path, final)
    log.close()
    if old_handler is not None:
        signal.signal(signal.SIGTERM, old_handler)
    return final


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="cpu")
    ap.add_argument("--steps", type=int, required=True, help="total steps (including resumed ones)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--data", type=Path, default=DEFAULT_TRAIN_DIR)
    ap.add_argument("--lr", type=float, default=None, help="override the config's learning rate")
    ap.add_argument("--ckpt-every", type=float, default=120.0, help="seconds between checkpoints")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    train(get_config(a.config), a.steps, a.out, a.resume, a.data, a.ckpt_every, a.lr, a.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
