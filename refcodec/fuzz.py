"""`make fuzz`: a repeatable, fixed-seed fuzz campaign through the stream parser and the entropy decoder.

    python -m refcodec.fuzz [--seconds 60] [--seed 0] [--json OUT]      (make fuzz FUZZ_SECONDS=60)

Seeds: the conformance streams of `vectors/` (and the inter streams of `vectors/inter/`, spec §6.7) small enough for the plain-Python reference decoder (latent of at
most 64 symbols per channel), both container versions, plus multi-frame streams built from them (frame_count,
timing, varying k). Each case mutates one seed with a random.Random(seed) draw:

| mutation | what |
|---|---|
| `flip` | 1-4 random bit flips |
| `cut` | the stream cut at a random offset |
| `insert`, `delete` | 1-16 random bytes inserted / deleted at a random offset |
| `splice` | the head of one seed joined to the tail of another |
| `header` | a header field (flags, size, channels, bits, entropy mode, frame count) set at random, header CRC repaired |
| `packet` | a byte of a packet (frame index, k, chunk table, chunk data) set at random, packet CRC repaired |
| `chunk` | 1-3 bit flips inside one chunk, packet CRC repaired (reaches the entropy decoder) |
| `packets` | packets dropped, duplicated or swapped (no repair needed) |

Checked for every case, strict and keep-going: no exception other than BitstreamError (a crash), no case over
`HANG_SECONDS` (a hang, stopped by an interval timer), and no undetected corruption: a mutated stream that
refcodec accepts in strict mode either decodes to the seed's symbols frame by frame, or is a valid stream by
the independent reference (`bitstream_spec/check_stream.py` grammar and `mcuc_chunks.py` chunk decoder, which
share no code with refcodec) decoding to the same symbols; a stream refcodec rejects with a packet-level
class is rejected by the reference too. Without a CRC repair, every frame keep-going recovers must be the
seed's frame of that index. Exit status 1 and one line per finding when anything fails.

Also here: `hostile_resync_stream` and `small_packet_stream`, the streams of the keep-going linear-time bound
(spec §10.2, tests/test_limits.py, bench/bench_resync.py).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import signal
import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from refcodec.bitstream.container import FramePacket, parse_stream, serialize_stream
from refcodec.bitstream.crc import crc32
from refcodec.bitstream.format import HEADER_SIZE_V1, VERSION_1
from refcodec.bitstream.header import StreamHeader, header_size_v2
from refcodec.bitstream.varint import encode_uvarint
from refcodec.codec import decode_symbols
from refcodec.errors import BitstreamError, ModelFileError

ROOT = Path(__file__).resolve().parents[1]
MUTATIONS = ("flip", "cut", "insert", "delete", "splice", "header", "packet", "chunk", "packets")
REPAIRED = ("header", "packet", "chunk")
HANG_SECONDS = 10.0
MAX_SEED_SYMBOLS = 64  # per channel: keeps the plain-Python reference decoder fast
PACKET_CLASSES = ("E_SYNC", "E_PACKET", "E_CRC", "E_ORDER", "E_CHUNK", "E_REFERENCE")


def _reference():
    """bitstream_spec/check_stream.py, loaded by path (it is a script folder, not a package)."""
    path = ROOT / "bitstream_spec" / "check_stream.py"
    spec = importlib.util.spec_from_file_location("mcuc_check_stream_fuzz", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Seed:
    name: str
    data: bytes
    model: object
    symbols: dict[int, np.ndarray]  # frame index -> symbols [lh, lw, C] (channels >= k zero)


@dataclass
class Campaign:
    seed: int
    cases: int = 0
    by_mutation: dict[str, dict[str, int]] = field(default_factory=dict)
    findings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, mutation: str, outcome: str) -> None:
        row = self.by_mutation.setdefault(mutation, {})
        row[outcome] = row.get(outcome, 0) + 1

    def to_json(self) -> dict:
        return {"seed": self.seed, "cases": self.cases, "seconds": round(self.seconds, 2),
                "by_mutation": self.by_mutation, "findings": self.findings}


def _models() -> dict[bytes, object]:
    """8-byte model id prefix -> model, for every model in vectors/models."""
    from refcodec.model.modelfile import load_model

    out = {}
    for p in sorted((ROOT / "vectors" / "models").glob("*.npz")):
        try:
            m = load_model(p)
        except ModelFileError:
            continue
        out[m.model_id_bytes[:8]] = m
    return out


def load_seeds() -> list[Seed]:
    """The small conformance streams and multi-frame streams made from them (see the module docstring)."""
    models = _models()
    seeds = []
    for path in sorted((ROOT / "vectors").glob("*/stream*.mcuc")) + sorted((ROOT / "vectors" / "inter").glob("*.mcuc")):
        data = path.read_bytes()
        header = StreamHeader.unpack(data)
        model = models.get(bytes(header.model_id[:8]))
        if model is None or header.n_symbols > MAX_SEED_SYMBOLS:
            continue
        seeds.append(_seed(f"{path.parent.name}/{path.name}", data, model))
    multi = []
    for s in seeds[::3]:
        parsed = parse_stream(s.data)
        h = parsed.header
        pk = parsed.packets[0]
        packets = [FramePacket(i, pk.chunks[: max(0, pk.k - i)], h.version) for i in range(3)]
        timing = dict(fps_num=25, fps_den=1) if h.version == 2 else dict(fps_num=h.rate[0], fps_den=h.rate[1])
        h3 = StreamHeader(h.model_id, h.width, h.height, h.channels, h.bits, h.entropy_mode, frame_count=3,
                          version=h.version, **timing)
        multi.append(_seed(f"{s.name}+3frames", serialize_stream(h3, packets), s.model))
    return seeds + multi


def _seed(name: str, data: bytes, model) -> Seed:
    ds = decode_symbols(data, model)
    return Seed(name, data, model, dict(zip(ds.frame_indices, ds.symbols)))


# --- mutations ---------------------------------------------------------------------------------------------

def _repair_header(b: bytearray) -> bytearray:
    try:
        size = StreamHeader.unpack(bytes(b)).size
    except BitstreamError:
        if len(b) < 6:
            return b
        size = HEADER_SIZE_V1 if b[4] == VERSION_1 else header_size_v2(b[5])
    if len(b) >= size:
        b[size - 4:size] = struct.pack("<I", crc32(bytes(b[:size - 4])))
    return b


def mutate(rng: random.Random, seed: Seed, seeds: list[Seed], kind: str) -> bytes:
    data = seed.data
    b = bytearray(data)
    if kind == "flip":
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
        return bytes(b)
    if kind == "cut":
        return data[:rng.randrange(len(data))]
    if kind == "insert":
        i = rng.randrange(len(b) + 1)
        return data[:i] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 16))) + data[i:]
    if kind == "delete":
        i = rng.randrange(len(b))
        return data[:i] + data[i + rng.randint(1, 16):]
    if kind == "splice":
        other = rng.choice(seeds).data
        return data[:rng.randrange(len(data) + 1)] + other[rng.randrange(len(other) + 1):]
    header = StreamHeader.unpack(data)
    if kind == "header":
        if header.version == 2:
            at, width = rng.choice([(5, 1), (14, 2), (16, 2), (18, 1), (19, 1), (20, 1), (header.size - 8, 4)])
        else:
            at, width = rng.choice([(5, 1), (6, 2), (40, 2), (44, 2), (48, 1), (49, 1), (50, 1), (60, 4)])
        value = rng.choice([0, 1, 2, 3, 255, rng.randrange(1 << (8 * width))]) & ((1 << (8 * width)) - 1)
        b[at:at + width] = value.to_bytes(width, "little")
        return bytes(_repair_header(b))
    parsed = parse_stream(data)
    if kind == "packets":
        packets = list(parsed.packets)
        op = rng.choice(["drop", "dup", "swap"])
        i = rng.randrange(len(packets))
        if op == "drop":
            packets.pop(i)
        elif op == "dup":
            packets.insert(i, packets[i])
        elif len(packets) > 1:
            j = rng.randrange(len(packets))
            packets[i], packets[j] = packets[j], packets[i]
        return data[:header.size] + b"".join(p.pack() for p in packets)
    i = rng.randrange(len(parsed.packets))
    start = parsed.packet_offsets[i]
    end = start + parsed.packets[i].size  # CRC at end - 4
    if kind == "packet":
        j = rng.randrange(start, end - 4)
        b[j] = rng.choice([0, 1, 0x7F, 0x80, 0xFF, b[j] ^ (1 << rng.randrange(8)), rng.randrange(256)])
    else:  # chunk: flip bits inside one chunk's data
        pk = parsed.packets[i]
        if pk.k == 0:
            return mutate(rng, seed, seeds, "packet")
        c = rng.randrange(pk.k)
        data_start = end - 4 - sum(len(ch.data) for ch in pk.chunks) + sum(len(ch.data) for ch in pk.chunks[:c])
        for _ in range(rng.randint(1, 3)):
            j = data_start + rng.randrange(len(pk.chunks[c].data))
            b[j] ^= 1 << rng.randrange(8)
    b[end - 4:end] = struct.pack("<I", crc32(bytes(b[start:end - 4])))
    return bytes(b)


# --- checks ------------------------------------------------------------------------------------------------

class _Hang(Exception):
    pass


def _on_alarm(signum, frame):  # pragma: no cover - only on a hang
    raise _Hang()


def _timed(fn):
    """fn() under an interval timer of HANG_SECONDS (main thread, POSIX); _Hang when it runs over."""
    use_timer = hasattr(signal, "setitimer")
    if use_timer:
        old = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS)
    try:
        return fn()
    finally:
        if use_timer:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)


def _reference_symbols(ref, data: bytes, model):
    """The independent reference's symbols [packet][channel] or its error message."""
    ent = model.entropy
    cl = None if ent is None else ent.code_lengths.tolist()
    ctx = None if ent is None or ent.context_lengths is None else ent.context_lengths.tolist()
    inter = None if ent is None or ent.inter_freqs is None else ent.inter_freqs.tolist()
    try:
        return ref.decode_symbols(data, cl, ctx, inter), None
    except ref.StreamCheckError as exc:
        return None, str(exc)


def check_case(ref, seed: Seed, kind: str, data: bytes, campaign: Campaign, label: str) -> None:
    model = seed.model
    try:
        ds = _timed(lambda: decode_symbols(data, model))
        strict_error = None
    except BitstreamError as exc:
        ds, strict_error = None, exc
    except _Hang:
        campaign.findings.append(f"{label}: hang (over {HANG_SECONDS} s) in strict decoding")
        campaign.count(kind, "hang")
        return
    except Exception as exc:  # noqa: BLE001 - a crash is what we look for
        campaign.findings.append(f"{label}: crash in strict decoding: {type(exc).__name__}: {exc}")
        campaign.count(kind, "crash")
        return
    if ds is not None:
        same = all(i in seed.symbols and np.array_equal(s, seed.symbols[i]) for i, s in zip(ds.frame_indices, ds.symbols))
        if same and (len(ds.symbols) == len(seed.symbols) or kind not in REPAIRED):
            campaign.count(kind, "accepted, same symbols")
        else:
            theirs, err = _reference_symbols(ref, data, model)
            if theirs is None:
                campaign.findings.append(f"{label}: undetected corruption: refcodec accepts, the reference "
                                         f"rejects ({err})")
                campaign.count(kind, "UNDETECTED")
            else:
                ours = [[s[:, :, c].ravel().tolist() for c in range(k)] for s, k in zip(ds.symbols, ds.channels_present)]
                if ours != theirs:
                    campaign.findings.append(f"{label}: refcodec and the reference decode different symbols")
                    campaign.count(kind, "UNDETECTED")
                else:
                    campaign.count(kind, "accepted, valid by the reference")
    else:
        campaign.count(kind, f"rejected {strict_error.code}")
        if strict_error.code in PACKET_CLASSES:
            theirs, _ = _reference_symbols(ref, data, model)
            if theirs is not None:
                campaign.findings.append(f"{label}: refcodec rejects ({strict_error}) a stream the reference accepts")
    try:
        kg = _timed(lambda: decode_symbols(data, model, keep_going=True))
    except BitstreamError:
        return
    except _Hang:
        campaign.findings.append(f"{label}: hang (over {HANG_SECONDS} s) in keep-going decoding")
        return
    except Exception as exc:  # noqa: BLE001
        campaign.findings.append(f"{label}: crash in keep-going decoding: {type(exc).__name__}: {exc}")
        return
    if kind in ("flip", "cut", "insert", "delete"):
        for i, s in zip(kg.frame_indices, kg.symbols):
            if i not in seed.symbols or not np.array_equal(s, seed.symbols[i]):
                campaign.findings.append(f"{label}: keep-going recovered frame {i} with other symbols than the seed's")
                break


def run_campaign(seconds: float, seed: int = 0, max_cases: int | None = None) -> Campaign:
    """Mutate and check until `seconds` have passed or `max_cases` are done. Same seed, same cases in order."""
    ref = _reference()
    seeds = load_seeds()
    rng = random.Random(seed)
    campaign = Campaign(seed)
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds and (max_cases is None or campaign.cases < max_cases):
        s = rng.choice(seeds)
        kind = MUTATIONS[campaign.cases % len(MUTATIONS)]
        data = mutate(rng, s, seeds, kind)
        check_case(ref, s, kind, data, campaign, f"case {campaign.cases} ({kind} of {s.name}, "
                                                  f"crc32 {crc32(data):08x})")
        campaign.cases += 1
    campaign.seconds = time.monotonic() - t0
    return campaign


# --- the streams of the keep-going bound (spec §10.2) ------------------------------------------------------

BIG = (8192, 8192)


def hostile_resync_stream(size: int) -> bytes:
    """An 8192 x 8192 Huffman stream header, then `size` bytes of packet starts 9 bytes apart, each claiming
    a chunk that reaches (almost) the end of the stream, so it fails its CRC only there."""
    head = StreamHeader(bytes(8), *BIG, 12, 8, 1).pack()
    huff_max = ((1 << 20) * 15 + 7) // 8
    out = bytearray(head)
    end = len(head) + size
    while len(out) + 9 <= end:
        length = max(1, min(huff_max, end - (len(out) + 8) - 4))
        entry = encode_uvarint(length << 2 | 1)
        out += b"MF\x00\x01" + entry + b"x" * (5 - len(entry))
    return bytes(out + b"x" * (end - len(out)))


def small_packet_stream(size: int) -> bytes:
    """The peer: a valid stream with the same header and `size` bytes of empty packets (k = 0)."""
    head = StreamHeader(bytes(8), *BIG, 12, 8, 1).pack()
    out, i = bytearray(head), 0
    while len(out) + 10 <= len(head) + size:
        out += FramePacket(i, ()).pack()
        i += 1
    return bytes(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="time budget (default 60)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ap.add_argument("--max-cases", type=int, default=None)
    ap.add_argument("--json", type=Path, default=None, help="also write the summary here")
    args = ap.parse_args(argv)
    campaign = run_campaign(args.seconds, args.seed, args.max_cases)
    summary = campaign.to_json()
    text = json.dumps(summary, indent=1)
    print(text)
    if args.json is not None:
        from refcodec.io_utils import atomic_write

        atomic_write(args.json, text.encode())
    for line in campaign.findings:
        print(f"refcodec fuzz: finding: {line}", file=sys.stderr)
    return 1 if campaign.findings else 0


if __name__ == "__main__":
    sys.exit(main())
