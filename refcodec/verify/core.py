"""`refcodec verify`: compare what firmware produced with the reference and say where and why it differs.

Inputs: the source frame(s) (uint8 RGB, original size), the model, and what the firmware wrote: a stream
(.mcuc bytes) and/or per-layer dumps (refcodec.verify.dumps). The reference is recomputed here with the
bit-exact kernels (refcodec.model.encoder.run_encoder) and the container code (refcodec.bitstream).

Diagnoses are found by *re-running the suspect step in its usual wrong variants* on the firmware's own input of
that step and checking which variant reproduces the firmware's bytes exactly; when none does, by the shape of
the mismatch pattern:

| evidence                                                            | diagnosis area |
|---------------------------------------------------------------------|----------------|
| the other rounding mode (§4.3) reproduces the layer / all diffs +-1  | `rounding`     |
| swapped SAME padding, or padding with 0 instead of the zero point,    | `padding`      |
| reproduces the layer; or mismatches only where the kernel overlaps   |                |
| the padding                                                          |                |
| only one output channel differs                                      | `channel`      |
| BGR order, missing -128, frame padding not edge-replicated           | `input`        |
| latent right, symbols wrong                                          | `latent_quantizer` |
| stream header fields differ                                          | `container`    |
| only CRC fields differ (with the CRC-32 variant that explains them)  | `crc`          |
| symbols right, chunk bytes wrong                                     | `entropy`      |
"""

from __future__ import annotations

import struct
from dataclasses import asdict, dataclass, field

import numpy as np

from refcodec.bitstream.container import Chunk
from refcodec.bitstream.crc import crc32, crc32_mpeg2
from refcodec.bitstream.format import (
    ENTROPY_NAMES,
    MAGIC,
    PACKET_SYNC_V2,
    STREAM_ENTROPY_CTX,
    STREAM_ENTROPY_HUFFMAN,
    STREAM_ENTROPY_INTER,
    STREAM_ENTROPY_RAW,
)
from refcodec.codec import encode_packet, stream_tables
from refcodec.entropy.chunk import decode_channel
from refcodec.errors import BitstreamError, InvalidArgumentError
from refcodec.kernels.params import ConvParams
from refcodec.model.encoder import pad_to_multiple, rgb_to_int8, run_encoder
from refcodec.model.modelfile import EncoderModel
from refcodec.model.topology import TENSOR_NAMES, same_padding
from refcodec.bitstream.header import StreamHeader
from refcodec.verify.stream_split import HEADER_FIELDS, header_fields, split_packet
from refcodec.verify.dumps import DUMP_NAMES, dump_dtype, frame_dirs, read_dump



@dataclass
class Mismatch:
    """One differing value: `layer` is a tensor name (input, conv1, conv2, latent, symbols)."""

    frame: int
    layer: str
    channel: int
    y: int
    x: int
    expected: int
    got: int


@dataclass
class Diagnosis:
    area: str  # rounding | padding | channel | input | latent_quantizer | layer | shape | container | crc | entropy
    message: str
    frame: int | None = None
    layer: str | None = None


@dataclass
class VerifyReport:
    model_id: str
    frames: int
    layers: dict[str, dict[str, int]] = field(default_factory=dict)  # name -> {compared, mismatches}
    stream: dict | None = None
    first_mismatch: Mismatch | None = None
    diagnoses: list[Diagnosis] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        layers_ok = all(v["mismatches"] == 0 for v in self.layers.values())
        stream_ok = self.stream is None or self.stream["mismatching_bytes"] == 0
        return layers_ok and stream_ok and not self.diagnoses

    def to_json(self) -> dict:
        return {
            "result": "PASS" if self.passed else "FAIL",
            "model_id": self.model_id,
            "frames": self.frames,
            "layers": self.layers,
            "stream": self.stream,
            "first_mismatch": asdict(self.first_mismatch) if self.first_mismatch else None,
            "diagnoses": [asdict(d) for d in self.diagnoses],
        }

    def text(self) -> str:
        lines = ["PASS" if self.passed else "FAIL"]
        lines.append(f"model {self.model_id[:16]}, {self.frames} frame(s)")
        if self.first_mismatch is not None:
            m = self.first_mismatch
            lines.append(f"first mismatch: frame {m.frame}, layer {m.layer}, channel {m.channel}, y {m.y}, x {m.x}: "
                         f"expected {m.expected}, got {m.got}")
        for name, v in self.layers.items():
            lines.append(f"  {name:8} {v['mismatches']:>8} mismatches of {v['compared']}")
        if self.stream is not None:
            s = self.stream
            lines.append(f"  {'stream':8} {s['mismatching_bytes']:>8} mismatching bytes of {s['expected_bytes']} "
                         f"(firmware wrote {s['got_bytes']})")
        for d in self.diagnoses:
            where = ", ".join(x for x in (f"frame {d.frame}" if d.frame is not None else "",
                                          f"layer {d.layer}" if d.layer else "") if x)
            lines.append(f"diagnosis [{d.area}]{' (' + where + ')' if where else ''}: {d.message}")
        return "\n".join(lines)


# --- reference computation ------------------------------------------------------------------------------

def reference_tensors(model: EncoderModel, rgb: np.ndarray) -> dict[str, np.ndarray]:
    """{input, conv1, conv2, latent} int8 HWC and symbols uint8 HWC for one original-size frame."""
    t = run_encoder(model, pad_to_multiple(rgb))
    out = {name: t[name][0] for name in TENSOR_NAMES}
    out["symbols"] = model.latent_quantizer.quantize(out["latent"])
    return out


def _variant_layer(model: EncoderModel, index: int, x: np.ndarray, rounding: str, pad_mode: str) -> np.ndarray:
    """Layer `index` applied to int8 HWC x in a (possibly wrong) variant.
    pad_mode: "same" (spec), "swapped" (the extra SAME row/column at the top/left), "zero_value" (padded taps
    read as int8 0 instead of the input zero point)."""
    from refcodec.kernels.conv2d_s8_fast import conv2d_s8_fast

    layer = model.layers[index]
    h, w = x.shape[:2]
    # geometry of this layer alone: padding only depends on its own input size (TFLite SAME, spec §4.2)
    _, top, bottom = same_padding(h, layer.kernel, layer.stride)
    _, left, right = same_padding(w, layer.kernel, layer.stride)
    total_h, total_w = top + bottom, left + right
    if pad_mode == "swapped":
        top, left = total_h - top, total_w - left
    params = model.conv_params(8, 8)[index]  # offsets and bounds (padding replaced below)
    if pad_mode == "zero_value":
        x = np.pad(x, ((top, total_h - top), (left, total_w - left), (0, 0)), constant_values=0)
        pads = (0, 0, 0, 0)
    else:
        pads = (top, left, total_h - top, total_w - left)
    cp = ConvParams(params.input_offset, params.output_offset, layer.stride, layer.stride, *pads,
                    params.act_min, params.act_max)
    return conv2d_s8_fast(x, layer.weights, layer.bias, cp, layer.quant_params(), rounding=rounding)


def _variant_symbols(model: EncoderModel, rgb: np.ndarray, rounding: str, pad_mode: str) -> np.ndarray:
    x = rgb_to_int8(pad_to_multiple(rgb))
    for i in range(len(model.layers)):
        x = _variant_layer(model, i, x, rounding, pad_mode)
    return model.latent_quantizer.quantize(x)


def _other(rounding: str) -> str:
    return "single" if rounding == "double" else "double"


ROUNDING_WORDS = {"double": "double rounding (SaturatingRoundingDoublingHighMul + RoundingDivideByPOT, the "
                            "TFLM / CMSIS-NN default)",
                  "single": "single rounding (CMSIS_NN_USE_SINGLE_ROUNDING / TFLITE_SINGLE_ROUNDING)"}


# --- layer dumps -----------------------------------------------------------------------------------------

def _first_mismatch(frame: int, name: str, expected: np.ndarray, got: np.ndarray) -> Mismatch:
    y, x, c = (int(v) for v in np.argwhere(expected != got)[0])
    return Mismatch(frame, name, c, y, x, int(expected[y, x, c]), int(got[y, x, c]))


def _border_mask(shape: tuple[int, int], in_hw: tuple[int, int], kernel: int, stride: int) -> np.ndarray:
    """Output positions whose receptive field overlaps the SAME padding."""
    oh, ow = shape
    edge = []
    for out, inn in ((oh, in_hw[0]), (ow, in_hw[1])):
        total = max((out - 1) * stride + kernel - inn, 0)
        start = np.arange(out) * stride - total // 2
        edge.append((start < 0) | (start + kernel > inn))
    return edge[0][:, None] | edge[1][None, :]


def diagnose_layer(model: EncoderModel, frame: int, name: str, ref: dict[str, np.ndarray], got: np.ndarray,
                   rgb: np.ndarray) -> Diagnosis:
    """Why firmware tensor `name` (the first that differs in this frame) is wrong."""
    expected = ref[name]
    bad = expected != got
    n_bad = int(bad.sum())
    chans = sorted({int(c) for c in np.nonzero(bad)[2]})
    if name == "input":
        h, w = rgb.shape[:2]
        if np.array_equal(got, expected[..., ::-1]):
            return Diagnosis("input", "the firmware's input is in BGR order; the spec's channel order is R, G, B "
                             "(spec section 3.1)", frame, name)
        if np.array_equal(got.view(np.uint8), pad_to_multiple(rgb)):
            return Diagnosis("input", "the firmware stored the pixels without subtracting 128; input conversion is "
                             "int8 = pixel - 128 (spec section 3.2)", frame, name)
        if not bad[:h, :w].any():
            return Diagnosis("input", "the frame's padding to a multiple of 8 differs: it must replicate the last "
                             "row and column at the bottom/right (spec section 3.1)", frame, name)
        return Diagnosis("input", f"{n_bad} input values differ: check frame reading and pixel - 128 "
                         "(spec section 3)", frame, name)
    if name == "symbols":
        return Diagnosis("latent_quantizer", f"the latent is right but {n_bad} symbols differ in channel(s) {chans}: "
                         "check lo/mult of those channels, the +2^15 rounding, >> 16 and the clamp to 2^bits - 1 "
                         "(spec section 5)", frame, name)
    index = TENSOR_NAMES.index(name) - 1
    x = ref[TENSOR_NAMES[index]]  # equals the firmware's own input of this layer (earlier tensors matched)
    layer = model.layers[index]
    other = _other(model.rounding)
    if np.array_equal(_variant_layer(model, index, x, other, "same"), got):
        return Diagnosis("rounding", f"the firmware uses {ROUNDING_WORDS[other]}; the model requires "
                         f"{ROUNDING_WORDS[model.rounding]} (spec section 4.3). {n_bad} values differ by 1 at "
                         "rounding ties", frame, name)
    for pad_mode, words in (("swapped", "puts the extra SAME padding row/column at the top/left; TFLite SAME puts "
                             "pad_top = total / 2 and the extra one at the bottom/right"),
                            ("zero_value", "pads with int8 0 instead of the input zero point (padded taps must "
                             "contribute nothing)")):
        v = _variant_layer(model, index, x, model.rounding, pad_mode)
        if v.shape == got.shape and np.array_equal(v, got):
            return Diagnosis("padding", f"the firmware {words} (spec section 4.2)", frame, name)
    if len(chans) == 1:
        return Diagnosis("channel", f"only output channel {chans[0]} differs ({n_bad} values): check that channel's "
                         f"weights, bias, multiplier and shift in the firmware's constants ({name})", frame, name)
    diff = np.abs(expected.astype(np.int32) - got.astype(np.int32))[bad]
    if diff.max() == 1:
        return Diagnosis("rounding", f"all {n_bad} mismatches are off by one: a rounding difference in the "
                         f"requantization (the model requires {ROUNDING_WORDS[model.rounding]}, spec section 4.3)",
                         frame, name)
    border = _border_mask(got.shape[:2], x.shape[:2], layer.kernel, layer.stride)
    if not (bad & ~border[:, :, None]).any():
        return Diagnosis("padding", f"all {n_bad} mismatches lie where the kernel overlaps the padding: check the "
                         "padding amounts (TFLite SAME, spec section 4.2) and that padded taps contribute nothing",
                         frame, name)
    return Diagnosis("layer", f"{n_bad} values in {len(chans)} channels differ and no known variant explains it: "
                     f"check {name}'s weights layout (OHWI), offsets, multipliers/shifts and activation bounds "
                     f"(spec section 4)", frame, name)


def compare_layers(model: EncoderModel, frames: list[np.ndarray], refs: list[dict[str, np.ndarray]],
                   layers_dir, report: VerifyReport) -> None:
    dirs = frame_dirs(layers_dir)
    if len(dirs) != len(frames):
        report.diagnoses.append(Diagnosis("shape", f"the layer dumps hold {len(dirs)} frame(s), the input has "
                                          f"{len(frames)}"))
    for f, (folder, rgb, ref) in enumerate(zip(dirs, frames, refs)):
        diagnosed = False
        for name in DUMP_NAMES:
            flat = read_dump(folder, name)
            if flat is None:
                continue
            expected = ref[name]
            entry = report.layers.setdefault(name, {"compared": 0, "mismatches": 0})
            entry["compared"] += int(expected.size)
            if flat.size != expected.size:
                entry["mismatches"] += int(expected.size)
                report.diagnoses.append(Diagnosis(
                    "shape", f"{name} dump holds {flat.size} bytes, expected {'x'.join(map(str, expected.shape))} "
                    f"= {expected.size} (HWC of the frame padded to a multiple of 8, spec sections 3.1 and 4.2)",
                    f, name))
                diagnosed = True
                continue
            got = flat.reshape(expected.shape).view(dump_dtype(name))
            n_bad = int((got != expected).sum())
            entry["mismatches"] += n_bad
            if n_bad:
                if report.first_mismatch is None:
                    report.first_mismatch = _first_mismatch(f, name, expected, got)
                if not diagnosed:
                    report.diagnoses.append(diagnose_layer(model, f, name, ref, got, rgb))
                    diagnosed = True


# --- stream ----------------------------------------------------------------------------------------------

def crc_variant(data: bytes, got: int) -> str | None:
    """Name the CRC-32 variant that gives `got` over `data`, if it is one of the usual mistakes."""
    good = crc32(data)
    variants = {
        "without the final XOR 0xFFFFFFFF": good ^ 0xFFFFFFFF,
        "with initial value 0 instead of 0xFFFFFFFF": crc32(data, 0xFFFFFFFF),
        "with initial value 0 and no final XOR": crc32(data, 0xFFFFFFFF) ^ 0xFFFFFFFF,
        "stored big-endian": struct.unpack("<I", struct.pack(">I", good))[0],
        "CRC-32/MPEG-2 (non-reflected; e.g. an STM32F1 CRC unit)": crc32_mpeg2(data),
    }
    for words, value in variants.items():
        if value == got:
            return words
    return None


def _fmt(v: object) -> str:
    if isinstance(v, bytes):
        return v.hex() if len(v) > 4 else repr(v)
    return str(v)


def _stream_mode(model: EncoderModel, got_mode: int, entropy: str | None) -> int:
    """The entropy_mode to compare against: the one asked for, else the firmware's own when legal for the model,
    else the best the model allows (huffman or raw)."""
    legal = {STREAM_ENTROPY_RAW: True, STREAM_ENTROPY_HUFFMAN: model.entropy is not None,
             STREAM_ENTROPY_CTX: model.has_context_tables,
             STREAM_ENTROPY_INTER: model.has_inter_tables}
    if entropy is not None:
        mode = {v: k for k, v in ENTROPY_NAMES.items()}[entropy]
    elif legal.get(got_mode, False):
        mode = got_mode
    else:
        mode = STREAM_ENTROPY_HUFFMAN if model.entropy is not None else STREAM_ENTROPY_RAW
    if not legal[mode]:
        raise InvalidArgumentError(f"entropy mode '{ENTROPY_NAMES[mode]}' needs a model with "
                                   f"{'context' if mode == STREAM_ENTROPY_CTX else 'inter' if mode == STREAM_ENTROPY_INTER else 'entropy'}"
                                   " tables; this one has none")
    return mode


def _compare_header(model: EncoderModel, frames: list[np.ndarray], got: bytes, gf: dict, mode: int,
                    report: VerifyReport) -> bytes:
    """Diagnose the firmware's stream header against the reference's; return the reference header bytes."""
    lq = model.latent_quantizer
    h, w = frames[0].shape[:2]
    fps_num, fps_den = gf["fps_num"], gf["fps_den"]
    if not (fps_num and fps_den):  # absent, or illegal (0): compare against a header without timing
        fps_num = fps_den = None
    # absent (a live stream) and the true count are both right; otherwise expect the reference encoder's rule
    if gf["frame_count"] is None or gf["frame_count"] == len(frames):
        frame_count = int(gf["frame_count"] or 0)
    else:
        frame_count = len(frames) if len(frames) > 1 else 0
    exp_header = StreamHeader(model.model_id_bytes, w, h, lq.channels, int(lq.bits), mode, fps_num, fps_den,
                              frame_count).pack()
    ef = header_fields(exp_header)
    wrong = [(k, ef[k], gf[k]) for k in HEADER_FIELDS if ef[k] != gf[k]]
    for name, e, g in wrong:
        report.diagnoses.append(Diagnosis("container", f"stream header field {name} is {_fmt(g)}, expected {_fmt(e)} "
                                          f"(spec section 7.1)"))
    if not wrong and ef["header_crc"] != gf["header_crc"]:
        variant = crc_variant(got[:int(gf["size"]) - 4], int(gf["header_crc"]))
        report.diagnoses.append(Diagnosis("crc", f"stream header CRC is 0x{gf['header_crc']:08x}, expected "
                                          f"0x{ef['header_crc']:08x}" + (f": the firmware computes CRC-32 {variant}"
                                                                          if variant else "") +
                                          " (spec section 7.3: reflected 0xEDB88320, init and final XOR 0xFFFFFFFF)"))
    return exp_header


def _compare_chunks(model: EncoderModel, f: int, ref_sym: np.ndarray, pkt, gp: dict, k: int, codes, context,
                    report: VerifyReport, inter=None, prev: tuple[np.ndarray, int] | None = None) -> int:
    """Compare the chunks of frame f's packet; return the number of wrong symbols (an undecodable chunk counts 1).
    inter, prev: an inter stream's InterCoder and (symbols, k) of frame f - 1, the references (spec section 6.7)."""
    bits = int(model.latent_quantizer.bits)
    sym_bad = 0
    for c in range(k):
        exp_chunk = pkt.chunks[c]
        if gp["modes"][c] == exp_chunk.mode and gp["chunks"][c] == exp_chunk.data:
            continue
        try:
            sym = decode_channel(Chunk(gp["modes"][c], gp["chunks"][c]), bits,
                                 ref_sym.shape[0] * ref_sym.shape[1], codes[c] if codes is not None else None,
                                 context[c] if context is not None else None, ref_sym.shape[1], inter,
                                 prev[0][..., c] if prev is not None and c < prev[1] else None)
        except BitstreamError as e:
            report.diagnoses.append(Diagnosis("entropy", f"channel {c} chunk does not decode: {e} (spec section 6)",
                                              f, "symbols"))
            sym_bad += 1
            continue
        sym = sym.reshape(ref_sym.shape[:2])
        bad = sym != ref_sym[..., c]
        if bad.any():
            sym_bad += int(bad.sum())
            if report.first_mismatch is None:
                y, x = (int(v) for v in np.argwhere(bad)[0])
                report.first_mismatch = Mismatch(f, "symbols", c, y, x, int(ref_sym[y, x, c]), int(sym[y, x]))
        else:
            why = (f"is coded as mode {gp['modes'][c]}, the reference encoder rule (spec section 6.4) gives "
                   f"mode {exp_chunk.mode}" if gp["modes"][c] != exp_chunk.mode else
                   "decodes to the right symbols but its bytes differ (bit order or padding, spec section 6.1)")
            report.diagnoses.append(Diagnosis("entropy", f"channel {c} chunk {why}", f, "symbols"))
    return sym_bad


def _crc_only_diagnosis(crc_only: list[tuple[int, bytes]]) -> Diagnosis:
    f, pk = crc_only[0]
    variant = crc_variant(pk[:-4], struct.unpack("<I", pk[-4:])[0])
    return Diagnosis(
        "crc", f"the packet CRC of {len(crc_only)} frame(s) differs while every other byte matches" +
        (f": the firmware computes CRC-32 {variant}" if variant else "") +
        " (spec section 7.3: reflected 0xEDB88320, init and final XOR 0xFFFFFFFF, over the packet from its sync "
        "to the byte before the CRC)", f)


def _expected_k(channels: int | list[int] | None, f: int, gp: dict | None, c_max: int) -> int:
    """k of frame f's packet: the one asked for (one k, or one per frame), else the packet's own when legal."""
    if isinstance(channels, (list, tuple)):
        return int(channels[f])
    return channels if channels is not None else (gp["k"] if gp and gp["k"] <= c_max else c_max)


def compare_stream(model: EncoderModel, frames: list[np.ndarray], refs: list[dict[str, np.ndarray]], got: bytes,
                   report: VerifyReport, channels: int | list[int] | None = None, entropy: str | None = None,
                   keyframe_interval: int = 30) -> None:
    """Compare the firmware's stream with the reference stream for the same frames (spec section 7): the header
    (_compare_header), then packet by packet its fields, chunks (_compare_chunks) and CRC.
    channels: k of every frame, or a list of one k per frame, or None (each packet's own k)."""
    lq = model.latent_quantizer
    gf = header_fields(got)
    if gf is None or gf["magic"] != MAGIC:
        what = "is shorter than its header" if gf is None else f"starts with {gf['magic']!r}, not {MAGIC!r}"
        report.diagnoses.append(Diagnosis("container", f"the firmware's stream {what} (spec section 7.1)"))
        report.stream = {"expected_bytes": 0, "got_bytes": len(got), "mismatching_bytes": len(got) or 1}
        return
    mode = _stream_mode(model, int(gf["entropy_mode"]), entropy)
    codes, context = stream_tables(model, mode)
    inter = model.entropy.inter_coder if mode == STREAM_ENTROPY_INTER else None
    prev: tuple[np.ndarray, int] | None = None  # (symbols, k) of the frame before: inter chunks' reference
    expected = bytearray(_compare_header(model, frames, got, gf, mode, report))
    pos = int(gf["size"])
    crc_only = []
    for f in range(len(frames)):
        ref_sym = refs[f]["symbols"]
        gp = split_packet(got, pos)
        k = _expected_k(channels, f, gp, lq.channels)
        key = prev is None or f % keyframe_interval == 0
        pkt = encode_packet(ref_sym, f, k, int(lq.bits), codes, context, inter, None if key else prev[0],
                            0 if key else prev[1])  # what refcodec encode writes
        prev_frame, prev = prev, (ref_sym, k)  # frame f - 1 for the chunk comparison, frame f for the next
        exp_pkt = pkt.pack()
        expected += exp_pkt
        if gp is None:
            report.diagnoses.append(Diagnosis("container", f"the stream ends or breaks at offset {pos}: no complete "
                                              f"frame packet for frame {f} (spec section 7.2)", f))
            break
        got_pkt = got[gp["start"]:gp["end"]]
        pos = gp["end"]
        if got_pkt == exp_pkt:
            continue
        if gp["sync"] != PACKET_SYNC_V2 or gp["frame_index"] != f or gp["k"] != k:
            report.diagnoses.append(Diagnosis(
                "container", f"packet at offset {gp['start']}: sync {gp['sync']!r}, frame_index {gp['frame_index']}, "
                f"k {gp['k']}; expected {PACKET_SYNC_V2!r}, {f}, {k} (spec section 7.2)", f))
            continue
        sym_bad = _compare_chunks(model, f, ref_sym, pkt, gp, k, codes, context, report, inter,
                                  None if key else prev_frame)
        if sym_bad:
            if not any(d.frame == f and d.layer != "symbols" for d in report.diagnoses):  # dumps explain it already
                report.diagnoses.append(_diagnose_symbols(model, f, frames[f], gp, k, codes, context, sym_bad))
            continue
        if got_pkt[:-4] == exp_pkt[:-4]:
            crc_only.append((f, got_pkt))
    if crc_only:
        report.diagnoses.append(_crc_only_diagnosis(crc_only))
    if pos < len(got) and not any(d.area == "container" for d in report.diagnoses):
        report.diagnoses.append(Diagnosis("container", f"{len(got) - pos} bytes after the last expected packet "
                                          f"(offset {pos}; spec section 7.4)"))
    report.stream = _byte_counts(bytes(expected), got)


def _byte_counts(expected: bytes, got: bytes) -> dict:
    """Expected and written stream bytes, and how many differ (position by position, plus the length difference)."""
    n = min(len(expected), len(got))
    mism = int(np.count_nonzero(np.frombuffer(expected[:n], np.uint8) != np.frombuffer(got[:n], np.uint8)))
    return {"expected_bytes": len(expected), "got_bytes": len(got),
            "mismatching_bytes": mism + abs(len(expected) - len(got))}


def _diagnose_symbols(model: EncoderModel, f: int, rgb: np.ndarray, gp: dict, k: int, codes, context,
                      n_bad: int) -> Diagnosis:
    """The stream's symbols differ: find an encoder variant that reproduces them (no layer dumps needed)."""
    lq = model.latent_quantizer
    got_sym = []
    for c in range(k):
        try:
            s = decode_channel(Chunk(gp["modes"][c], gp["chunks"][c]), int(lq.bits),
                               int(np.prod(latent_hw(rgb))), codes[c] if codes is not None else None,
                               context[c] if context is not None else None, latent_hw(rgb)[1])
        except BitstreamError:
            got_sym = None
            break
        got_sym.append(s.reshape(latent_hw(rgb)))
    if got_sym is not None and got_sym:
        got_sym = np.stack(got_sym, axis=-1)
        for rounding, pad_mode, words, area in (
                (_other(model.rounding), "same", f"uses {ROUNDING_WORDS[_other(model.rounding)]}; the model requires "
                                                 f"{ROUNDING_WORDS[model.rounding]} (spec section 4.3)", "rounding"),
                (model.rounding, "swapped", "puts the extra SAME padding row/column at the top/left instead of the "
                                            "bottom/right (spec section 4.2)", "padding"),
                (model.rounding, "zero_value", "pads with int8 0 instead of the input zero point (spec section 4.3)",
                 "padding")):
            if np.array_equal(_variant_symbols(model, rgb, rounding, pad_mode)[..., :k], got_sym):
                return Diagnosis(area, f"{n_bad} latent symbols differ; the firmware's symbols are exactly those of "
                                 f"an encoder that {words}", f, "symbols")
    return Diagnosis("layer", f"{n_bad} latent symbols differ and no known variant (rounding, padding) explains them: "
                     "give the firmware's layer dumps with --layers DIR to find the first layer that differs", f,
                     "symbols")


def latent_hw(rgb: np.ndarray) -> tuple[int, int]:
    """(lh, lw) of the latent of an original-size frame."""
    return -(-rgb.shape[0] // 8), -(-rgb.shape[1] // 8)


# --- entry point -----------------------------------------------------------------------------------------

def verify(model: EncoderModel, frames: list[np.ndarray], stream: bytes | None = None, layers_dir=None,
           channels: int | list[int] | None = None, entropy: str | None = None,
           keyframe_interval: int | None = None) -> VerifyReport:
    """Compare firmware output with the reference. frames: uint8 [H, W, 3] each, all the same size.
    stream: the firmware's .mcuc bytes; layers_dir: its layer dumps (refcodec.verify.dumps). At least one.
    channels: expected k per packet, or a list of one k per frame (default: each packet's own k).
    entropy: "raw" | "huffman" | "ctx" | "inter" (default: the stream's own mode when legal for the model).
    keyframe_interval: of an inter stream (spec section 6.7.5; default 30, the reference encoder's)."""
    if stream is None and layers_dir is None:
        raise InvalidArgumentError("nothing to verify: give a firmware stream and/or --layers DIR")
    if not frames:
        raise InvalidArgumentError("no input frames")
    shapes = {f.shape for f in frames}
    if len(shapes) != 1:
        raise InvalidArgumentError(f"input frames differ in size: {sorted(shapes)}")
    ks = channels if isinstance(channels, (list, tuple)) else [] if channels is None else [channels]
    if isinstance(channels, (list, tuple)) and len(channels) != len(frames):
        raise InvalidArgumentError(f"{len(channels)} channel counts for {len(frames)} frame(s)")
    if any(not 0 <= k <= model.channels for k in ks):
        raise InvalidArgumentError(f"channels {channels} outside [0, {model.channels}]")
    if entropy not in (None, "raw", "huffman", "ctx", "inter"):
        raise InvalidArgumentError(f'invalid entropy mode "{entropy}", expected raw, huffman, ctx or inter')
    if keyframe_interval is not None and keyframe_interval < 1:
        raise InvalidArgumentError(f"keyframe interval {keyframe_interval} must be >= 1")
    report = VerifyReport(model.model_id, len(frames))
    refs = [reference_tensors(model, f) for f in frames]
    if layers_dir is not None:
        compare_layers(model, frames, refs, layers_dir, report)
    if stream is not None:
        compare_stream(model, frames, refs, bytes(stream), report, channels, entropy,
                       30 if keyframe_interval is None else int(keyframe_interval))
    return report
