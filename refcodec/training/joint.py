"""Joint fine-tuning of the encoder and the decoder of an exported model (issue 13: the encoder learns the border).

    python -m refcodec.training.joint --steps N --out runs/NAME [--from refcodec/assets] [--assets runs/NAME/assets]
        [--lr 1e-4] [--encoder-lr 1e-4] [--edge-ring 2] [--edge-weight 33] [--context 2] [--rate-weight W]
        [--rate-channels kept|all] [--anchor-weight A] [--anchor-margin M] [--threads T] [--resume]

The stage-1 float checkpoint is not kept, so the float encoder starts from the INT8 model itself
(`float_encoder`: w = w_q s_w, b = b_q s_in s_w, the real values the INT8 kernels compute with). Per step, as
`pipeline finetune --loss border-edge --context C` (crops against true frame edges, latent context around the
crop, 1 + (W - 1) weight on the L1 error within R px of a true frame edge, reflect-padded MS-SSIM), except that the
latent comes from the float encoder run on the image window of the latent window (so that its SAME padding is
at the true frame edge where the window has one), and the decoder's input is the model's real latent path
(`quantize_ste`: int8 latent, latent quantizer symbol, recon value) with a straight-through gradient. Loss +
the stage-1 range penalty on the pre-clamp latent. Adam, cosine LR from lr to lr/20 for both parts.

--anchor-weight A > 0 adds A * `anchor_drift`: the mean squared move, in latent-quantizer symbols, of the
latents at least M latent pixels from the window's sides away from those of the starting encoder (frozen copy).
The encoder's SAME padding reaches the two outer latent rows and columns only (latent i sees input pixels
8i - 10 .. 8i + 20: conv 7 s2, 5 s4, 3 s1, TFLite SAME), so M = 2 leaves free the latents that see the frame
edge and holds the rest where they were: runs J1-J4 let every latent move, which cost rate or the k = 12
ceiling (docs/TRAINING.md, fourth and fifth passes). The log's `drift` is this mean (0 without an anchor).

Export: PTQ of the trained encoder (refcodec.training.ptq, calibrated as `pipeline export`), the latent
quantizer refitted on the model's bits and levels, plain + context tables refitted; the inter table is not
(run `python -m refcodec.training.fit_inter --assets DIR` after). Then usually `pipeline finetune` of the
decoder alone on the exported INT8 latents. Checkpoint: OUT/joint.pt (resumable; SIGTERM writes it and stops).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import signal
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from refcodec.errors import InvalidArgumentError
from refcodec.model.latent_quantizer import LQ_SHIFT
from refcodec.model.modelfile import EncoderModel
from refcodec.training.calibrate import dequantize_latent, fit_latent_quantizer, fit_tables, int8_latents, with_quantizer
from refcodec.training.config import TrainConfig, get_config
from refcodec.training.nets import Decoder, Encoder
from refcodec.training.pipeline import (ASSETS_DIR, EDGE_RING, cosine_lr, crop_output, draw_crops, export_assets,
                                        finetune_loss, load_exported, log, log_progress, training_set)
from refcodec.training.train import load_checkpoint, save_checkpoint, tail_drop_mask

DEFAULT_EDGE_WEIGHT = 33.0  # the weight of the bundled decoder's last run (docs/TRAINING.md, third pass)
ANCHOR_MARGIN = 2  # latent pixels from a side that the encoder's SAME padding reaches (module docstring)
RATE_CHANNELS = ("kept", "all")


class ClampedEncoder(Encoder):
    """The encoder with each ReLU output clamped to [0, r], r the largest real value of the INT8 layer's output
    ((127 - zero point) * scale): INT8 saturates there, so the float twin must too (else a few latents differ
    by 10-20 int8 steps between the twin and the INT8 model)."""

    def __init__(self, ranges: list[float]):
        super().__init__()
        self.ranges = ranges

    def forward(self, x: torch.Tensor, return_all: bool = False):
        outs = []
        for conv, act, r in zip(self.convs, self.activations, self.ranges):
            x = conv(x)
            if act == "relu":
                x = x.clamp(0.0, r)
            outs.append(x)
        return outs if return_all else x


def float_encoder(model: EncoderModel) -> ClampedEncoder:
    """The float twin of an INT8 model: per layer w = w_q * s_w[o] (OHWI -> OIHW), b = b_q * s_in * s_w[o],
    the real values the INT8 convolution accumulates (input pixel / 255 is the INT8 input's real value), ReLU
    outputs clamped where the INT8 layer saturates."""
    enc = ClampedEncoder([float((127 - l.output_zero_point) * np.float64(l.output_scale)) for l in model.layers])
    s_in = np.float64(model.input_scale)
    with torch.no_grad():
        for conv, layer in zip(enc.convs, model.layers):
            ws = layer.weight_scales.astype(np.float64)
            w = layer.weights.astype(np.float64) * ws[:, None, None, None]
            conv.weight.copy_(torch.from_numpy(w.transpose(0, 3, 1, 2).astype(np.float32)))
            conv.bias.copy_(torch.from_numpy((layer.bias.astype(np.float64) * s_in * ws).astype(np.float32)))
            s_in = np.float64(layer.output_scale)
    return enc


def quantize_ste(pre: torch.Tensor, model: EncoderModel, bound: float) -> torch.Tensor:
    """Decoder input for a float pre-latent [N, C, h, w]: forward = the model's real path (int8 latent =
    round(pre / s) + zp saturated to int8, then `latent_quantizer.quantize`, then `dequantize_latent`),
    backward = the gradient of clamp(pre, -bound, bound) (straight-through)."""
    last = model.layers[-1]
    with torch.no_grad():
        q = torch.round(pre / float(last.output_scale)) + int(last.output_zero_point)
        q = q.clamp(-128, 127).to(torch.int8).permute(0, 2, 3, 1).numpy()
        deq = dequantize_latent(model, model.latent_quantizer.quantize(q))
        deq = torch.from_numpy(deq).permute(0, 3, 1, 2)
    lat = pre.clamp(-bound, bound)
    return lat + (deq - lat).detach()


def symbols_per_unit(model: EncoderModel) -> torch.Tensor:
    """[1, C, 1, 1]: latent-quantizer symbols per unit of the float pre-latent, mult / (2^LQ_SHIFT s) (the quantizer's
    symbol = ((q - lo) * mult + 2^15) >> LQ_SHIFT of the int8 latent q = pre / s + zp; spec §5)."""
    mult = model.latent_quantizer.mult.astype(np.float64)
    per_unit = mult / (float(1 << LQ_SHIFT) * float(model.layers[-1].output_scale))
    return torch.from_numpy(per_unit.astype(np.float32)).view(1, -1, 1, 1)


def anchor_drift(pre: torch.Tensor, ref: torch.Tensor, model: EncoderModel, margin: int = ANCHOR_MARGIN) -> torch.Tensor:
    """Mean squared difference in latent-quantizer symbols between the pre-latents pre and ref [N, C, h, w] over
    the positions at least `margin` pixels from every side of the window (all positions when margin is 0)."""
    if margin < 0 or 2 * margin >= min(pre.shape[2], pre.shape[3]):
        raise InvalidArgumentError(f"anchor margin {margin} leaves no latent of a {pre.shape[2]}x{pre.shape[3]} window")
    h, w = pre.shape[2], pre.shape[3]
    du = (pre - ref)[:, :, margin:h - margin, margin:w - margin] * symbols_per_unit(model)
    return du.pow(2).mean()


def rate_proxy(pre: torch.Tensor, model: EncoderModel, kept: torch.Tensor | None = None) -> torch.Tensor:
    """Mean bits per latent symbol under the model's plain Huffman code lengths (spec §6.5), as a differentiable
    function of the pre-latent [N, C, h, w]: the symbol position u = (pre / s + zp - lo) * mult / 2^16 (the latent
    quantizer before its rounding), clamped to the used levels, and the code length linearly interpolated between
    the two symbols around u. The tables stay fixed: the encoder pays for moving latents to rarer symbols.

    kept [N, C, 1, 1] (the tail-drop mask): only the kept channels' bits count, divided by all N*C*h*w symbols,
    as the stream of sample i sends its first k_i channels only; without it every channel pays at every step,
    while a late channel's quality counts only when k reaches it (docs/TRAINING.md, fourth pass: run J3)."""
    lq = model.latent_quantizer
    lengths = torch.from_numpy(model.entropy.code_lengths.astype(np.float32))  # [C, 2^b]
    c = lengths.shape[0]
    last = model.layers[-1]  # symbol 0 at the int8 latent lo, i.e. at the pre-latent (lo - zero point) * s
    lo = torch.from_numpy((lq.lo.astype(np.float64) - last.output_zero_point).astype(np.float32)).view(1, c, 1, 1)
    lo = lo * float(last.output_scale)
    u = ((pre - lo) * symbols_per_unit(model)).clamp(0, used_levels(model) - 1)
    i0 = u.detach().floor().clamp(max=used_levels(model) - 2).long()
    t = u - i0
    per_channel = lengths.view(1, c, -1, 1).expand(pre.shape[0], c, lengths.shape[1], pre.shape[2] * pre.shape[3])
    flat = i0.view(pre.shape[0], c, 1, -1)
    l0 = per_channel.gather(2, flat).view_as(pre)
    l1 = per_channel.gather(2, flat + 1).view_as(pre)
    bits = l0 + t * (l1 - l0)
    return bits.mean() if kept is None else (bits * kept).mean()


def joint_train(enc: Encoder, dec: Decoder, model: EncoderModel, images: list[np.ndarray], cfg: TrainConfig,
                steps: int, lr: float, encoder_lr: float, out: Path, resume: bool = False, seed: int = 3,
                ckpt_every: float = 120.0, context: int = 2, edge_ring: int = EDGE_RING,
                edge_extra: float = DEFAULT_EDGE_WEIGHT - 1, rate_weight: float = 0.0,
                rate_channels: str = "kept", anchor_weight: float = 0.0, anchor_margin: int = ANCHOR_MARGIN) -> dict:
    """Train encoder and decoder together for `steps` total steps (module docstring); rate_weight > 0 adds
    rate_weight * `rate_proxy` (bits per symbol) of the channels the tail-drop mask keeps (rate_channels "kept")
    or of all channels ("all"); anchor_weight > 0 adds anchor_weight * `anchor_drift` from `enc` as given (the
    starting encoder, also on resume). Returns steps and seconds."""
    if rate_channels not in RATE_CHANNELS:
        raise InvalidArgumentError(f"rate_channels {rate_channels!r}, expected one of {RATE_CHANNELS}")
    if context < 0:
        raise InvalidArgumentError(f"context {context} must be >= 0")
    if rate_weight < 0 or anchor_weight < 0:
        raise InvalidArgumentError(f"rate weight {rate_weight:g} and anchor weight {anchor_weight:g} must be >= 0")
    torch.set_num_threads(cfg.threads)
    anchor = copy.deepcopy(enc).eval().requires_grad_(False) if anchor_weight else None
    out.mkdir(parents=True, exist_ok=True)
    ck_path = out / "joint.pt"
    opt = torch.optim.Adam([{"params": enc.parameters(), "lr": encoder_lr, "base": encoder_lr},
                            {"params": dec.parameters(), "lr": lr, "base": lr}])
    step, seconds = 0, 0.0
    if resume and ck_path.exists():
        ck = load_checkpoint(ck_path)
        enc.load_state_dict(ck["encoder"])
        dec.load_state_dict(ck["decoder"])
        opt.load_state_dict(ck["optimizer"])
        step, seconds = int(ck["step"]), float(ck["seconds"])
    ims = [torch.from_numpy(im.transpose(2, 0, 1).copy()) for im in images]
    shapes = [(im.shape[1] // 8, im.shape[2] // 8) for im in ims]
    rng = np.random.default_rng(seed + step)
    gen = torch.Generator().manual_seed(seed + step)
    lc = cfg.crop // 8
    t0, last, start_seconds, hist = time.time(), time.time(), seconds, []
    enc.train()
    dec.train()

    def state():
        return {"encoder": enc.state_dict(), "decoder": dec.state_dict(), "optimizer": opt.state_dict(),
                "step": step, "seconds": seconds}

    stop: list[bool] = []
    try:
        old_handler = signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    except ValueError:  # not in the main thread
        old_handler = None
    while step < steps and not stop:
        for g in opt.param_groups:
            g["lr"] = cosine_lr(g["base"], step, steps)
        batch = draw_crops(rng, shapes, lc, context, "border-edge", cfg.batch, cfg.crop, edge_ring)
        x = torch.stack([ims[c.image][:, 8 * c.y0:8 * (c.y0 + lc), 8 * c.x0:8 * (c.x0 + lc)] for c in batch]).float() / 255.0
        n = 8 * (lc + 2 * context)
        window = torch.stack([ims[c.image][:, 8 * c.wy:8 * c.wy + n, 8 * c.wx:8 * c.wx + n] for c in batch]).float() / 255.0
        pre = enc(window)
        kept = tail_drop_mask(len(batch), generator=gen)
        y = quantize_ste(pre, model, cfg.latent_bound) * kept
        x_hat = crop_output(dec(y), batch, cfg.crop)
        excess = F.relu(pre.abs() - cfg.latent_bound).pow(2).mean()
        edges = torch.stack([c.edge for c in batch])
        value = finetune_loss(x_hat, x, cfg, "border-edge", edges, edge_extra) + cfg.bound_penalty * excess
        bits = rate_proxy(pre, model, kept if rate_channels == "kept" else None) if rate_weight else torch.zeros(())
        value = value + rate_weight * bits
        if anchor is not None:
            with torch.no_grad():
                ref = anchor(window)
            drift = anchor_drift(pre, ref, model, anchor_margin)
            value = value + anchor_weight * drift
        else:
            drift = torch.zeros(())
        opt.zero_grad(set_to_none=True)
        value.backward()
        opt.step()
        step += 1
        seconds = start_seconds + time.time() - t0
        hist = log_progress("joint_step", step, steps, hist, float(value.detach()), seconds,
                            excess=round(float(excess.detach()), 6), bits=round(float(bits.detach()), 4),
                            drift=round(float(drift.detach()), 5))
        if time.time() - last > ckpt_every:
            save_checkpoint(ck_path, state())
            last = time.time()
    save_checkpoint(ck_path, state())
    if old_handler is not None:
        signal.signal(signal.SIGTERM, old_handler)
    enc.eval()
    dec.eval()
    return {"steps": step, "seconds": round(seconds, 1), "stopped": bool(stop)}


def used_levels(model: EncoderModel) -> int:
    """How many uniform levels the model's latent quantizer was fitted on (12 of the 16 of b = 4 for the bundled
    model): `latent_levels` of its training meta (`pipeline finetune --levels`), else 2^b."""
    return int(model.meta.get("training", {}).get("latent_levels", model.latent_quantizer.levels))


def requantize(enc: Encoder, old: EncoderModel, cfg: TrainConfig, images: list[np.ndarray], meta: dict) -> EncoderModel:
    """PTQ of the trained float encoder (calibrated on images[:200:2], as `pipeline export`), the latent quantizer
    refitted with the old model's bits and number of levels, plain + context tables refitted on `images`."""
    from refcodec.training.ptq import quantize_encoder

    model = quantize_encoder(enc, images[:200:2], cfg.latent_bound, rounding=old.rounding, meta=meta)
    lat = int8_latents(model, images)
    lq = fit_latent_quantizer(lat, int(old.latent_quantizer.bits), levels=used_levels(old))
    return with_quantizer(model, lq, fit_tables(lq, lat))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--from", dest="source", type=Path, default=ASSETS_DIR,
                    help="folder with the exported encoder-*.npz + decoder-*.npz to start from (default: the bundled pair)")
    ap.add_argument("--config", default="cpu", help="training config: crop size, batch, threads (cpu or tiny)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: the config's)")
    ap.add_argument("--steps", type=int, required=True, help="total steps (including resumed ones)")
    ap.add_argument("--lr", type=float, default=1e-4, help="decoder learning rate (cosine to lr/20)")
    ap.add_argument("--encoder-lr", type=float, default=1e-4, help="encoder learning rate (cosine to lr/20)")
    ap.add_argument("--edge-ring", type=int, default=EDGE_RING,
                    help=f"width in pixels of the weighted ring along true frame edges (default {EDGE_RING})")
    ap.add_argument("--edge-weight", type=float, default=DEFAULT_EDGE_WEIGHT,
                    help=f"L1 weight of the ring's pixels, >= 1 (default {DEFAULT_EDGE_WEIGHT:g})")
    ap.add_argument("--context", type=int, default=2,
                    help="latent pixels of context around each crop, outside the loss (default 2)")
    ap.add_argument("--rate-weight", type=float, default=0.0,
                    help="weight of the rate proxy (bits per symbol under the model's plain tables; 0: none)")
    ap.add_argument("--rate-channels", choices=RATE_CHANNELS, default="kept",
                    help="kept: the rate of the channels the tail-drop mask keeps, as the stream sends them "
                         "(default); all: every channel at every step (runs J2b, J3)")
    ap.add_argument("--anchor-weight", type=float, default=0.0,
                    help="weight of the drift of the interior latents, in symbols squared, from the starting "
                         "encoder (0: none)")
    ap.add_argument("--anchor-margin", type=int, default=ANCHOR_MARGIN,
                    help=f"latent pixels from each window side left out of the anchor (default {ANCHOR_MARGIN}: "
                         "the ones the encoder's padding reaches)")
    ap.add_argument("--images", type=int, default=None, help="use the first N training images (default all)")
    ap.add_argument("--out", type=Path, required=True, help="run folder: checkpoint joint.pt and the log")
    ap.add_argument("--assets", type=Path, required=True, help="where to write the new encoder + decoder pair")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/joint.pt up to --steps")
    a = ap.parse_args(argv)
    if a.steps < 1 or a.edge_ring < 1 or a.edge_weight < 1:
        raise SystemExit(f"--steps {a.steps}, --edge-ring {a.edge_ring} and --edge-weight {a.edge_weight:g} "
                         "must be >= 1")
    if a.rate_weight < 0 or a.anchor_weight < 0 or a.anchor_margin < 0:
        raise SystemExit(f"--rate-weight {a.rate_weight:g}, --anchor-weight {a.anchor_weight:g} and "
                         f"--anchor-margin {a.anchor_margin} must be >= 0")
    old, dec, _ = load_exported(a.source)
    cfg = get_config(a.config)
    if a.threads is not None:
        cfg = dataclasses.replace(cfg, threads=a.threads)
    images = training_set(a.images, flips=True)
    log(f"{len(images)} prepared training images")
    enc = float_encoder(old)
    run = joint_train(enc, dec, old, images, cfg, a.steps, a.lr, a.encoder_lr, a.out, a.resume,
                      context=a.context, edge_ring=a.edge_ring, edge_extra=a.edge_weight - 1, rate_weight=a.rate_weight,
                      rate_channels=a.rate_channels, anchor_weight=a.anchor_weight, anchor_margin=a.anchor_margin)
    training = dict(old.meta.get("training", {}))
    training["joint_runs"] = training.get("joint_runs", []) + [
        {"steps": run["steps"], "lr": a.lr, "encoder_lr": a.encoder_lr, "edge_ring": a.edge_ring,
         "edge_weight": a.edge_weight, "context": a.context, "rate_weight": a.rate_weight,
         "rate_channels": a.rate_channels,
         "anchor_weight": a.anchor_weight, "anchor_margin": a.anchor_margin, "cpu_seconds": run["seconds"], "from": old.model_id}]
    training["latent_levels"] = used_levels(old)
    model = requantize(enc, old, cfg, images, dict(old.meta, training=training))
    enc_path, dec_path = export_assets(model, dec, a.assets)
    print(json.dumps({"encoder": str(enc_path), "decoder": str(dec_path), "model_id": model.model_id,
                      "old_model_id": old.model_id, "joint": run}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
