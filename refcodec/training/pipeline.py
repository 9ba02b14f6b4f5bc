"""Stage 2: from a float checkpoint to the bundled INT8 model + NumPy decoder weights.

    python -m refcodec.training.pipeline sweep-bits --ckpt runs/NAME/ckpt.pt [--bits 3 4 5 6]
    python -m refcodec.training.pipeline export --ckpt runs/NAME/ckpt.pt --bits B --finetune-steps N \
        --out runs/NAME/ft [--assets refcodec/assets] [--resume]
    python -m refcodec.training.pipeline finetune --steps N --out runs/NAME/ft2 [--from refcodec/assets]
        [--assets refcodec/assets] [--loss msssim-l1|border] [--resume]
    python -m refcodec.training.pipeline quick-eval [--images ../shared/datasets/kodak] [--size 224]
    python -m refcodec.training.pipeline refit-tables --assets DIR [--out DIR] [--images N]

export: PTQ of the encoder calibrated on training images (refcodec.training.ptq), the latent quantizer and
Huffman tables fitted on the bit-exact INT8 latents of the training images (refcodec.training.calibrate),
then fine-tuning of the decoder on the dequantized INT8 latents (tail-drop as in stage 1), then
save_model -> ASSETS/encoder-<id8>.npz and ASSETS/decoder-<hash8>.npz (older ones there are replaced).

finetune: continue training the decoder of an exported model (encoder-*.npz + decoder-*.npz in --from) on
the dequantized INT8 latents of the training images, the INT8 encoder and latent quantizer unchanged (the
stage-1 checkpoint is not needed), then write both files to --assets (the model file's meta records the
extra steps; its tables are refitted, so its model id may change).

refit-tables: recompute the plain and context Huffman tables (spec §6.5, §6.6) of DIR's encoder-*.npz on the
bit-exact symbols of the training images (flips included, as export), everything else unchanged, and write
OUT/encoder-<new id8>.npz plus OUT/decoder-<hash8>.npz (the same weights, its `encoder_model_id` set to the
new id); OUT defaults to DIR, where the old pair is then replaced.

Training images are prepared like the evaluation images but uncropped: shorter side resized to 224
(Pillow bilinear, antialiased), then padded to a multiple of 8. Kodak is only used by quick-eval.
JSON results go to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from refcodec.errors import InvalidArgumentError
from refcodec.model.encoder import pad_to_multiple, run_encoder
from refcodec.model.modelfile import EncoderModel, save_model
from refcodec.paths import kodak_dir
from refcodec.training.calibrate import (dequantize_latent, fit_latent_quantizer, fit_tables, int8_latents,
                                         with_quantizer)
from refcodec.training.config import TrainConfig, get_config
from refcodec.training.data import DEFAULT_TRAIN_DIR, list_images, load_rgb
from refcodec.training.msssim import ms_ssim
from refcodec.training.nets import LATENT_CHANNELS, PADDINGS, Decoder, Encoder
from refcodec.training.train import load_checkpoint, save_checkpoint, tail_drop_mask

KODAK_DIR = kodak_dir()  # refcodec.paths
ASSETS_DIR = Path(__file__).resolve().parents[1] / "assets"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def prepare_train_image(rgb: np.ndarray, short: int = 224) -> np.ndarray:
    """uint8 HxWx3 -> shorter side `short` (bilinear, antialiased), padded to a multiple of 8."""
    im = Image.fromarray(rgb)
    w, h = im.size
    nw, nh = (short, round(h * short / w)) if w <= h else (round(w * short / h), short)
    return pad_to_multiple(np.asarray(im.resize((nw, nh), Image.Resampling.BILINEAR), dtype=np.uint8))


def load_float(ckpt_path: Path) -> tuple[TrainConfig, Encoder, Decoder, dict]:
    ck = load_checkpoint(ckpt_path)
    cfg = get_config(ck["config"]["name"])
    enc, dec = Encoder(), Decoder(cfg.widths, cfg.blocks)
    enc.load_state_dict(ck["encoder"])
    dec.load_state_dict(ck["decoder"])
    return cfg, enc.eval(), dec.eval(), {"step": int(ck["step"]), "seconds": float(ck["seconds"])}


def training_set(limit: int | None, data_dir: Path = DEFAULT_TRAIN_DIR, flips: bool = False) -> list[np.ndarray]:
    out = []
    for p in list_images(data_dir, limit):
        im = prepare_train_image(load_rgb(p))
        out.append(im)
        if flips:
            out.append(np.ascontiguousarray(im[:, ::-1]))
    return out


def build_model(enc: Encoder, cfg: TrainConfig, bits: int, calib: list[np.ndarray], fit: list[np.ndarray],
                meta: dict) -> tuple[EncoderModel, list[np.ndarray]]:
    """PTQ on `calib`, latent quantizer + tables on the INT8 latents of `fit`. Returns (model, latents)."""
    from refcodec.training.ptq import quantize_encoder

    model = quantize_encoder(enc, calib, cfg.latent_bound, meta=meta)
    lat = int8_latents(model, fit)
    lq = fit_latent_quantizer(lat, bits)
    return with_quantizer(model, lq, fit_tables(lq, lat)), lat


def decode_torch(dec: Decoder, latent: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        y = dec(torch.from_numpy(np.ascontiguousarray(latent.transpose(2, 0, 1)))[None])
    return y[0].numpy().transpose(1, 2, 0)


def rd_points(model: EncoderModel, decode, images: list[np.ndarray]) -> list[dict]:
    """Per k = 1..12: mean bpp (Huffman payload bits of the first k channels / pixels, no headers), MS-SSIM
    and PSNR (refcodec.eval.metrics) over uint8 images with sides % 8 == 0."""
    from refcodec.entropy.huffman import huffman_coded_bits
    from refcodec.eval.metrics import ms_ssim as np_ms_ssim
    from refcodec.eval.metrics import psnr

    cl = model.entropy.code_lengths
    acc = {k: {"bpp": [], "msssim": [], "psnr": []} for k in range(1, LATENT_CHANNELS + 1)}
    for im in images:
        sym = model.latent_quantizer.quantize(run_encoder(model, im)["latent"][0])
        bits = np.cumsum([huffman_coded_bits(sym[..., c], cl[c]) for c in range(LATENT_CHANNELS)])
        ref = im.astype(np.float32) / 255.0
        for k in range(1, LATENT_CHANNELS + 1):
            out = np.clip(decode(dequantize_latent(model, sym, k)), 0.0, 1.0)
            acc[k]["bpp"].append(bits[k - 1] / (im.shape[0] * im.shape[1]))
            acc[k]["msssim"].append(np_ms_ssim(out, ref))
            acc[k]["psnr"].append(psnr(out, ref))
    return [{"k": k, **{m: round(float(np.mean(v)), 5) for m, v in d.items()}} for k, d in acc.items()]


LOSSES = ("msssim-l1", "border", "border-edge")
BORDER_PAD = 8  # reflect padding (pixels) of both frames before MS-SSIM in the "border" loss
EDGE_ANCHOR_P = 0.5  # "border" losses: chance, per axis, that a crop is put against a true frame edge
EDGE_RING = 2  # "border-edge": pixels this close to a true frame edge ...
EDGE_EXTRA = 8.0  # ... weigh 1 + EDGE_EXTRA in the L1 term


def edge_mask(size: int, top: bool, bottom: bool, left: bool, right: bool, ring: int = EDGE_RING) -> torch.Tensor:
    """[1, size, size] float: 1 on the pixels within `ring` of the crop sides that are true frame edges."""
    if not 1 <= ring <= size:
        raise InvalidArgumentError(f"edge ring {ring} must be in 1..{size}")
    m = torch.zeros(1, size, size)
    if top:
        m[:, :ring] = 1
    if bottom:
        m[:, -ring:] = 1
    if left:
        m[:, :, :ring] = 1
    if right:
        m[:, :, -ring:] = 1
    return m


def crop_origin(rng: np.random.Generator, n: int, size: int, loss: str) -> int:
    """Latent crop origin along one axis of length n for a crop of `size` latents. "msssim-l1": uniform (the
    original draw, unchanged). "border" and "border-edge": with chance EDGE_ANCHOR_P against the first or the
    last frame edge (half each), so that crops often hold true frame borders (the encoder's SAME padding
    there), else uniform."""
    if loss != "msssim-l1" and rng.random() < EDGE_ANCHOR_P:
        return 0 if rng.random() < 0.5 else n - size
    return int(rng.integers(0, n - size + 1))


def finetune_loss(x_hat: torch.Tensor, x: torch.Tensor, cfg: TrainConfig, loss: str = "msssim-l1",
                  edge: torch.Tensor | None = None, edge_extra: float = EDGE_EXTRA) -> torch.Tensor:
    """(1 - w) (1 - MS-SSIM) + w L1, w = cfg.l1_weight. "msssim-l1": MS-SSIM as in stage 1 (valid filtering:
    a pixel 0..4 px from the crop edge is in few or no windows, so the border has almost no weight). "border":
    MS-SSIM of both frames reflect-padded by BORDER_PAD pixels, so that at the finest scale every pixel of the
    frame, edges included, is the centre of a window (issue 13); L1 unchanged (already on every pixel).
    "border-edge": as "border", and the L1 term weighs the pixels of `edge` ([N, 1, H, W], 1 within EDGE_RING
    of a true frame edge, `edge_mask`) 1 + edge_extra: MS-SSIM, whose finest scale has the smallest exponent,
    barely sees a one-pixel ring, while the outermost ring is where the error is (docs/TRAINING.md)."""
    if loss not in LOSSES:
        raise InvalidArgumentError(f"unknown fine-tuning loss {loss!r}, expected one of {list(LOSSES)}")
    if loss == "msssim-l1":
        msssim = ms_ssim(x_hat, x).mean()
    else:
        p = (BORDER_PAD,) * 4
        msssim = ms_ssim(F.pad(x_hat, p, mode="reflect"), F.pad(x, p, mode="reflect")).mean()
    err = (x_hat - x).abs()
    if loss == "border-edge":
        if edge is None:
            raise InvalidArgumentError("the border-edge loss needs the mask of true frame edges")
        if edge_extra < 0:
            raise InvalidArgumentError(f"edge weight {1 + edge_extra:g} must be >= 1")
        err = err * (1 + edge_extra * edge)
    return (1 - cfg.l1_weight) * (1 - msssim) + cfg.l1_weight * err.mean()


def context_window(origin: int, n: int, size: int, context: int) -> int:
    """Origin of the latent window of size + 2 context that holds the crop [origin, origin + size) along an
    axis of length n: context latent pixels on each side, shifted inwards at a frame edge (there the crop lies
    against the window's edge, which is then the true frame edge). So every window edge is either a true frame
    edge or at least `context` latent pixels from the crop, as in a tiled decode (refcodec.decoder.tiling)."""
    if size + 2 * context > n:
        raise InvalidArgumentError(f"latent of {n} pixels is too small for a {size} crop with context {context}")
    return min(max(origin - context, 0), n - size - 2 * context)


@dataclasses.dataclass(frozen=True)
class Crop:
    """One training sample: image index, latent crop origin (y0, x0), latent window origin (wy, wx;
    `context_window`) and the [1, crop, crop] mask of its true frame edges (`edge_mask`)."""

    image: int
    y0: int
    x0: int
    wy: int
    wx: int
    edge: torch.Tensor


def draw_crops(rng: np.random.Generator, latent_shapes: list[tuple[int, int]], lc: int, context: int, loss: str,
               batch: int, crop: int, edge_ring: int = EDGE_RING) -> list[Crop]:
    """`batch` crops of lc x lc latents: an image drawn uniformly, origins by `crop_origin`, windows by
    `context_window` (the decoder fine-tuning's and the joint training's draw)."""
    out = []
    for _ in range(batch):
        i = int(rng.integers(len(latent_shapes)))
        h, w = latent_shapes[i]
        y0, x0 = crop_origin(rng, h, lc, loss), crop_origin(rng, w, lc, loss)
        wy, wx = context_window(y0, h, lc, context), context_window(x0, w, lc, context)
        out.append(Crop(i, y0, x0, wy, wx, edge_mask(crop, y0 == 0, y0 + lc == h, x0 == 0, x0 + lc == w, edge_ring)))
    return out


def crop_output(x_hat: torch.Tensor, batch: list[Crop], crop: int) -> torch.Tensor:
    """The crop x crop pixels of each decoded window that its crop covers."""
    return torch.stack([x_hat[j, :, 8 * (c.y0 - c.wy):8 * (c.y0 - c.wy) + crop, 8 * (c.x0 - c.wx):8 * (c.x0 - c.wx) + crop]
                        for j, c in enumerate(batch)])


def cosine_lr(base: float, step: int, steps: int) -> float:
    """Cosine schedule from base (step 0) to base / 20 (step `steps`)."""
    return base * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * step / max(steps, 1))))


def log_progress(key: str, step: int, steps: int, hist: list[float], value: float, seconds: float, **extra) -> list[float]:
    """Append the step's loss to `hist`; every 50 steps and at the last, log their mean (JSON on stderr) and
    return a new empty history, else `hist`."""
    hist.append(value)
    if step % 50 and step != steps:
        return hist
    log(json.dumps({key: step, "loss": round(float(np.mean(hist)), 5), **extra, "seconds": round(seconds, 1)}))
    return []


def finetune_decoder(dec: Decoder, model: EncoderModel, images: list[np.ndarray], latents: list[np.ndarray],
                     cfg: TrainConfig, steps: int, lr: float, out: Path, resume: bool = False, seed: int = 1,
                     ckpt_every: float = 120.0, loss: str = "msssim-l1", context: int = 0,
                     edge_ring: int = EDGE_RING, edge_extra: float = EDGE_EXTRA) -> dict:
    """Train the decoder alone on (image crop, dequantized INT8 latent crop) pairs, tail-drop as in stage 1,
    cosine LR from lr to lr/20, loss `finetune_loss(.., loss)` (crops drawn by `crop_origin`).
    context > 0: the decoder gets `context_window`'s larger latent window and the loss sees only the crop, so
    that the only edges it learns to reconstruct are true frame edges (0 = the crop alone: its edges inside
    the frame look like frame edges to the decoder). edge_ring, edge_extra: the "border-edge" mask and weight
    (`edge_mask`, `finetune_loss`). Checkpoint: out/finetune.pt."""
    if loss not in LOSSES:
        raise InvalidArgumentError(f"unknown fine-tuning loss {loss!r}, expected one of {list(LOSSES)}")
    if context < 0:
        raise InvalidArgumentError(f"context {context} must be >= 0")
    torch.set_num_threads(cfg.threads)
    out.mkdir(parents=True, exist_ok=True)
    ck_path = out / "finetune.pt"
    opt = torch.optim.Adam(dec.parameters(), lr=lr)
    step, seconds = 0, 0.0
    if resume and ck_path.exists():
        ck = load_checkpoint(ck_path)
        dec.load_state_dict(ck["decoder"])
        opt.load_state_dict(ck["optimizer"])
        step, seconds = int(ck["step"]), float(ck["seconds"])
    deq = [torch.from_numpy(dequantize_latent(model, model.latent_quantizer.quantize(l)).transpose(2, 0, 1).copy())
           for l in latents]
    ims = [torch.from_numpy(im.transpose(2, 0, 1).copy()) for im in images]
    rng = np.random.default_rng(seed + step)
    gen = torch.Generator().manual_seed(seed + step)
    lc = cfg.crop // 8
    t0, last, start_seconds, hist = time.time(), time.time(), seconds, []
    dec.train()

    def state():
        return {"decoder": dec.state_dict(), "optimizer": opt.state_dict(), "step": step, "seconds": seconds}

    while step < steps:
        for g in opt.param_groups:
            g["lr"] = cosine_lr(lr, step, steps)
        batch = draw_crops(rng, [d.shape[1:] for d in deq], lc, context, loss, cfg.batch, cfg.crop, edge_ring)
        x = torch.stack([ims[c.image][:, 8 * c.y0:8 * (c.y0 + lc), 8 * c.x0:8 * (c.x0 + lc)] for c in batch]).float() / 255.0
        n = lc + 2 * context
        y = torch.stack([deq[c.image][:, c.wy:c.wy + n, c.wx:c.wx + n] for c in batch])
        x_hat = crop_output(dec(y * tail_drop_mask(len(batch), generator=gen)), batch, cfg.crop)
        value = finetune_loss(x_hat, x, cfg, loss, torch.stack([c.edge for c in batch]), edge_extra)
        opt.zero_grad(set_to_none=True)
        value.backward()
        opt.step()
        step += 1
        seconds = start_seconds + time.time() - t0
        hist = log_progress("finetune_step", step, steps, hist, float(value.detach()), seconds)
        if time.time() - last > ckpt_every:
            save_checkpoint(ck_path, state())
            last = time.time()
    save_checkpoint(ck_path, state())
    dec.eval()
    return {"steps": step, "seconds": round(seconds, 1)}


def export_assets(model: EncoderModel, dec: Decoder, assets: Path) -> tuple[Path, Path]:
    """Write ASSETS/encoder-<id8>.npz (save_model) and ASSETS/decoder-<hash8>.npz; remove older ones."""
    from refcodec.training.export import export_decoder

    assets.mkdir(parents=True, exist_ok=True)
    enc_path = assets / f"encoder-{model.model_id[:8]}.npz"
    save_model(model, enc_path)
    for old in assets.glob("encoder-*.npz"):
        if old != enc_path:
            old.unlink()
    dec_path = export_decoder(dec, assets, {"encoder_model_id": model.model_id})
    return enc_path, dec_path


def cmd_sweep_bits(a) -> dict:
    """Rate/quality of each bit depth on every N-th training image (224x224 crops), stage-1 decoder, and
    BD-rate against JPEG 4:2:0 (Pillow, optimize=True, full headers) on the same images. Our bpp counts the
    Huffman payload only, so the comparison is slightly in our favour; it is used to rank bit depths."""
    from refcodec.eval.bdrate import bd_rate
    from refcodec.eval.jpeg import jpeg_sweep
    from refcodec.eval.metrics import ms_ssim_db

    cfg, enc, dec, info = load_float(a.ckpt)
    torch.set_num_threads(cfg.threads)
    calib = training_set(a.calib_images)
    evalset = [np.ascontiguousarray(im[:224, :224]) for im in training_set(None)[::a.eval_every]]
    jpeg = jpeg_sweep(evalset, qualities=list(range(5, 96, 10)))
    res = {"checkpoint": str(a.ckpt), **info, "eval_images": len(evalset), "jpeg420": jpeg, "by_bits": {}}
    for bits in a.bits:
        model, _ = build_model(enc, cfg, bits, calib[:100], calib, {})
        rd = rd_points(model, lambda l: decode_torch(dec, l), evalset)
        bd = {
            "bd_rate_msssim_db": bd_rate([j["bpp"] for j in jpeg], [ms_ssim_db(j["ms_ssim"]) for j in jpeg],
                                         [r["bpp"] for r in rd], [ms_ssim_db(r["msssim"]) for r in rd]),
            "bd_rate_psnr": bd_rate([j["bpp"] for j in jpeg], [j["psnr"] for j in jpeg],
                                    [r["bpp"] for r in rd], [r["psnr"] for r in rd]),
        }
        res["by_bits"][bits] = {"rd": rd, **bd}
        log(json.dumps({"bits": bits, "k1": rd[0], "k12": rd[-1],
                        "bd_msssim": bd["bd_rate_msssim_db"]["bd_rate_percent"],
                        "bd_psnr": bd["bd_rate_psnr"]["bd_rate_percent"]}))
    return res


def cmd_export(a) -> dict:
    cfg, enc, dec, info = load_float(a.ckpt)
    torch.set_num_threads(cfg.threads)
    t0 = time.time()
    images = training_set(a.images, flips=True)
    log(f"{len(images)} prepared training images in {time.time() - t0:.1f}s")
    meta = {"training": {"config": cfg.name, "stage1_steps": info["step"],
                         "stage1_cpu_seconds": round(info["seconds"], 1), "bits": a.bits,
                         "finetune_steps": a.finetune_steps, "data": "BSDS500 train folder (500 JPEGs)"}}
    model, lat = build_model(enc, cfg, a.bits, images[:200:2], images, meta)
    log(f"PTQ + latent quantizer + tables in {time.time() - t0:.1f}s; lq lo={model.latent_quantizer.lo.tolist()} "
        f"mult={model.latent_quantizer.mult.tolist()}")
    ft = {"steps": 0, "seconds": 0.0}
    if a.finetune_steps > 0:
        ft = finetune_decoder(dec, model, images, lat, cfg, a.finetune_steps, a.lr, a.out, a.resume)
    model = EncoderModel(model.layers, model.rounding, model.latent_quantizer, model.entropy,
                         dict(meta, training=dict(meta["training"], finetune_steps=ft["steps"],
                                                  finetune_cpu_seconds=ft["seconds"])))
    enc_path, dec_path = export_assets(model, dec, a.assets)
    return {"encoder": str(enc_path), "decoder": str(dec_path), "model_id": model.model_id, **info,
            "finetune": ft}


def the_encoder_file(folder: Path) -> Path:
    """The one encoder-*.npz in an exported assets folder (InvalidArgumentError if there are none or several)."""
    encs = sorted(Path(folder).glob("encoder-*.npz"))
    if len(encs) != 1:
        raise InvalidArgumentError(f"expected one encoder-*.npz in {str(folder)!r}, found {len(encs)}")
    return encs[0]


def load_exported(folder: Path, padding: str | None = None) -> tuple[EncoderModel, Decoder, dict]:
    """The encoder model file and the PyTorch decoder (with its weight-file meta) exported to `folder`;
    padding: None = the file's, else the decoder is built with this padding mode (same weights)."""
    from refcodec.decoder.weights import find_bundled, read_decoder_weights
    from refcodec.model.modelfile import load_model

    enc_file = the_encoder_file(folder)
    arrays, meta = read_decoder_weights(find_bundled(folder))
    dec = Decoder(tuple(meta["widths"]), tuple(meta["blocks"]), padding or meta.get("padding", "zeros"))
    dec.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in arrays.items()})
    return load_model(enc_file), dec.eval(), meta


def cmd_finetune(a) -> dict:
    if a.edge_ring < 1 or a.edge_weight < 1:
        raise InvalidArgumentError(f"--edge-ring {a.edge_ring} and --edge-weight {a.edge_weight:g} must be >= 1")
    if a.l1_weight is not None and not 0 <= a.l1_weight <= 1:
        raise InvalidArgumentError(f"--l1-weight {a.l1_weight:g} must be within [0, 1]")
    cfg = get_config(a.config)
    if a.threads is not None:
        cfg = dataclasses.replace(cfg, threads=a.threads)
    if a.l1_weight is not None:
        cfg = dataclasses.replace(cfg, l1_weight=a.l1_weight)
    model, dec, dec_meta = load_exported(a.source, a.padding)
    torch.set_num_threads(cfg.threads)
    images = training_set(a.images, flips=True)
    lat = int8_latents(model, images)
    log(f"{len(images)} prepared training images and their INT8 latents")
    lq = model.latent_quantizer
    if a.levels is not None:
        lq = fit_latent_quantizer(lat, lq.bits, levels=a.levels)
        model = with_quantizer(model, lq, model.entropy)
        log(f"latent quantizer refitted on {a.levels} levels: lo={lq.lo.tolist()} mult={lq.mult.tolist()}")
    training = dict(model.meta.get("training", {}))
    prev = int(training.get("finetune_steps", 0))
    ft = finetune_decoder(dec, model, images, lat, cfg, a.steps, a.lr, a.out, a.resume, loss=a.loss,
                          context=a.context, edge_ring=a.edge_ring, edge_extra=a.edge_weight - 1)
    run = {"steps": ft["steps"], "lr": a.lr, **({} if a.loss == "msssim-l1" else {"loss": a.loss}),
           **({"edge_ring": a.edge_ring, "edge_weight": a.edge_weight} if a.loss == "border-edge" else {}),
           **({"context": a.context} if a.context else {}), **({"padding": a.padding} if a.padding else {}),
           **({"l1_weight": a.l1_weight} if a.l1_weight is not None else {})}
    training.update(finetune_steps=prev + ft["steps"],
                    finetune_cpu_seconds=round(float(training.get("finetune_cpu_seconds", 0.0)) + ft["seconds"], 1),
                    finetune_runs=training.get("finetune_runs", []) + [run],
                    **({} if a.levels is None else {"latent_levels": a.levels}))
    if a.levels is not None:  # a new quantizer needs new tables (inter tables are not refitted here: fit_inter)
        model = with_quantizer(model, lq, fit_tables(lq, lat))
    model = EncoderModel(model.layers, model.rounding, model.latent_quantizer, model.entropy,
                         dict(model.meta, training=training), model.input_scale, model.input_zero_point)
    enc_path, dec_path = export_assets(model, dec, a.assets)
    return {"encoder": str(enc_path), "decoder": str(dec_path), "model_id": model.model_id, "finetune": ft}


def cmd_quick_eval(a) -> dict:
    from refcodec.decoder import load_decoder
    from refcodec.decoder.weights import find_bundled
    from refcodec.eval.prep import load_prepared
    from refcodec.model.modelfile import load_model

    enc_file = the_encoder_file(a.assets)
    model = load_model(enc_file)
    dec = load_decoder(find_bundled(a.assets))
    paths = sorted(p for p in Path(a.images).iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    if not paths:
        raise InvalidArgumentError(f"no images in {str(a.images)!r}")
    images = [load_prepared(p, a.size) for p in paths[:a.limit]]
    return {"model_id": model.model_id, "images": len(images), "size": a.size,
            "bpp": "Huffman payload bits only (no container headers)",
            "rd": rd_points(model, dec.decode, images)}


def refit_tables(model: EncoderModel, images: list[np.ndarray]) -> EncoderModel:
    """The model with plain + context tables refitted on the INT8 symbols of `images` (meta kept)."""
    return with_quantizer(model, model.latent_quantizer, fit_tables(model.latent_quantizer, int8_latents(model, images)))


def cmd_refit_tables(a) -> dict:
    from refcodec.decoder.weights import find_bundled, read_decoder_weights
    from refcodec.model.modelfile import load_model
    from refcodec.training.assets import save_pair

    enc_file = the_encoder_file(a.assets)
    old = load_model(enc_file)
    dec_arrays, dec_meta = read_decoder_weights(find_bundled(a.assets))
    t0 = time.time()
    images = training_set(a.images, flips=True)
    model = refit_tables(old, images)
    log(f"refitted tables on {len(images)} training images in {time.time() - t0:.1f}s")
    enc_path, dec_path = save_pair(model, dec_arrays, dec_meta, Path(a.out or a.assets))
    return {"encoder": str(enc_path), "decoder": str(dec_path), "old_model_id": old.model_id,
            "model_id": model.model_id, "training_images": len(images)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sweep-bits")
    s.add_argument("--ckpt", type=Path, required=True)
    s.add_argument("--bits", type=int, nargs="+", default=[3, 4, 5, 6])
    s.add_argument("--calib-images", type=int, default=200)
    s.add_argument("--eval-every", type=int, default=20, help="evaluate on every N-th training image")
    e = sub.add_parser("export")
    e.add_argument("--ckpt", type=Path, required=True)
    e.add_argument("--bits", type=int, default=5)
    e.add_argument("--finetune-steps", type=int, default=0)
    e.add_argument("--lr", type=float, default=2e-4)
    e.add_argument("--images", type=int, default=None, help="use the first N training images (default all)")
    e.add_argument("--out", type=Path, required=True)
    e.add_argument("--assets", type=Path, default=ASSETS_DIR)
    e.add_argument("--resume", action="store_true")
    f = sub.add_parser("finetune")
    f.add_argument("--from", dest="source", type=Path, default=ASSETS_DIR)
    f.add_argument("--config", default="cpu")
    f.add_argument("--threads", type=int, default=None, help="torch threads (default: the config's)")
    f.add_argument("--steps", type=int, required=True)
    f.add_argument("--levels", type=int, default=None,
                   help="refit the latent quantizer: the calibrated range over this many levels (<= 2^bits)")
    f.add_argument("--lr", type=float, default=2e-4)
    f.add_argument("--loss", choices=LOSSES, default="msssim-l1",
                   help="msssim-l1: the stage-1 loss; border: MS-SSIM on reflect-padded frames and crops often "
                        "against true frame edges (issue 13); border-edge: border, and L1 weighs the pixels "
                        "within --edge-ring of a true frame edge --edge-weight times")
    f.add_argument("--edge-ring", type=int, default=EDGE_RING,
                   help=f"border-edge: width in pixels of the weighted ring along true frame edges (default {EDGE_RING})")
    f.add_argument("--edge-weight", type=float, default=1 + EDGE_EXTRA,
                   help=f"border-edge: L1 weight of the ring's pixels, >= 1 (default {1 + EDGE_EXTRA:g})")
    f.add_argument("--context", type=int, default=0,
                   help="latent pixels of context around each crop, outside the loss (0: the crop alone)")
    f.add_argument("--l1-weight", type=float, default=None,
                   help="w in (1 - w)(1 - MS-SSIM) + w L1, within [0, 1] (default: the config's); a larger w "
                        "leans the decoder towards PSNR")
    f.add_argument("--padding", choices=PADDINGS, default=None,
                   help="decoder padding mode from now on (default: the source decoder's)")
    f.add_argument("--images", type=int, default=None, help="use the first N training images (default all)")
    f.add_argument("--out", type=Path, required=True)
    f.add_argument("--assets", type=Path, default=ASSETS_DIR)
    f.add_argument("--resume", action="store_true")
    q = sub.add_parser("quick-eval")
    q.add_argument("--images", type=Path, default=KODAK_DIR)
    q.add_argument("--size", type=int, default=224)
    q.add_argument("--limit", type=int, default=None)
    q.add_argument("--assets", type=Path, default=ASSETS_DIR)
    r = sub.add_parser("refit-tables")
    r.add_argument("--assets", type=Path, default=ASSETS_DIR, help="folder with encoder-*.npz and decoder-*.npz")
    r.add_argument("--out", type=Path, default=None, help="output folder (default: --assets, replacing the pair)")
    r.add_argument("--images", type=int, default=None, help="use the first N training images (default all)")
    a = ap.parse_args(argv)
    res = {"sweep-bits": cmd_sweep_bits, "export": cmd_export, "finetune": cmd_finetune, "quick-eval": cmd_quick_eval,
           "refit-tables": cmd_refit_tables}[a.cmd](a)
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
