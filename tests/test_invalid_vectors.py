"""Machine-checkable decoder errors (bitstream_spec/SPEC.md §8.1, §8.2): every invalid conformance stream in
vectors/invalid/ raises BitstreamError whose `.code` is the spec's error class listed in invalid.json, from
the API and from the CLI (one stderr line naming the class, non-zero exit, no output file); packet faults
are skipped in keep-going mode with the damaged frame reported as lost.

The expected classes come from vectors/invalid/invalid.json (written by refcodec/vectors/generate.py from
the spec's §8.1 table, one fault per stream); this file never derives them from the decoder."""

from __future__ import annotations

import ast
import hashlib
import json
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner

from refcodec.bitstream.container import Chunk, FramePacket, StreamHeader, parse_stream
from refcodec.cli.main import cli
from refcodec.codec import check_model, decode_symbols
from refcodec.errors import BITSTREAM_ERROR_CODES, BitstreamError, ModelMismatchError
from refcodec.model.modelfile import load_model

REPO = Path(__file__).resolve().parents[1]
INVALID = REPO / "vectors" / "invalid"
INVALID_JSON = json.loads((INVALID / "invalid.json").read_text())
MODEL_PATH = REPO / "vectors" / "models" / f"{INVALID_JSON['model']['name']}.npz"
CASES = INVALID_JSON["cases"]
IDS = [c["file"] for c in CASES]
SPEC_CODES = {"E_MAGIC", "E_TRUNCATED", "E_CRC", "E_VERSION", "E_HEADER", "E_MODEL", "E_SYNC", "E_PACKET",
              "E_ORDER", "E_CHUNK", "E_REFERENCE"}
# E_REFERENCE (spec 2.2, inter chunks) has no stream in vectors/invalid yet (it needs a vectors model with inter
# tables); tests/test_inter.py checks the class on built streams.
NO_VECTOR_YET = {"E_REFERENCE"}
# The packet each keep-going case damages (generate.py: case 23 rewrites the second packet, the others the
# first). Every base stream holds two frames, indices 0 and 1.
DAMAGED_FRAME = {23: 1}


@pytest.fixture(scope="module")
def model():
    return load_model(MODEL_PATH)


def _keep_going_allowed(case: dict) -> bool:
    return "keep-going" in case["decoder_must"]


def test_invalid_json_covers_every_spec_class():
    assert len(CASES) == 40
    assert set(BITSTREAM_ERROR_CODES) == SPEC_CODES
    assert {c["error"] for c in CASES} == SPEC_CODES - NO_VECTOR_YET  # every other class has a stream
    assert sorted(p.name for p in INVALID.glob("*.mcuc")) == sorted(IDS)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_sha256_matches(case):
    assert hashlib.sha256((INVALID / case["file"]).read_bytes()).hexdigest() == case["sha256"]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_decode_symbols_raises_the_listed_class(case, model):
    data = (INVALID / case["file"]).read_bytes()
    with pytest.raises(BitstreamError) as info:
        decode_symbols(data, model)
    err = info.value
    assert err.code == case["error"], str(err)
    assert str(err).startswith(f"[{case['error']}] ") and "\n" not in str(err)
    assert isinstance(err, ModelMismatchError) == (case["error"] == "E_MODEL")
    assert err.exit_code == (6 if case["error"] == "E_MODEL" else 5)


@pytest.mark.parametrize("case", [c for c in CASES if _keep_going_allowed(c)],
                         ids=[c["file"] for c in CASES if _keep_going_allowed(c)])
def test_keep_going_skips_the_damaged_frame(case, model):
    data = (INVALID / case["file"]).read_bytes()
    ds = decode_symbols(data, model, keep_going=True)
    damaged = DAMAGED_FRAME.get(case["number"], 0)
    assert ds.lost == [[damaged, damaged]], (ds.lost, ds.errors)
    assert ds.frame_indices == [1 - damaged]  # the other frame still decodes
    assert any(line.startswith(f"[{case['error']}] ") for line in ds.errors), ds.errors


@pytest.mark.parametrize("case", [c for c in CASES if not _keep_going_allowed(c)],
                         ids=[c["file"] for c in CASES if not _keep_going_allowed(c)])
def test_header_faults_stay_fatal_in_keep_going(case, model):
    """Spec §8.3: header errors are fatal even in keep-going mode (stream-level truncation is reported)."""
    data = (INVALID / case["file"]).read_bytes()
    if case["error"] == "E_TRUNCATED" and case["stage"] == "packet":
        ds = decode_symbols(data, model, keep_going=True)  # cut packet / missing packets / trailing bytes
        assert ds.errors or ds.lost
        assert all(line.startswith("[E_TRUNCATED] ") for line in ds.errors), ds.errors
        return
    with pytest.raises(BitstreamError) as info:
        decode_symbols(data, model, keep_going=True)
    assert info.value.code == case["error"]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_cli_decode_one_line_with_the_class(case, tmp_path):
    src = tmp_path / "in.mcuc"
    src.write_bytes((INVALID / case["file"]).read_bytes())
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = CliRunner().invoke(cli, ["decode", str(src), "-o", str(out_dir / "out.png"), "--model", str(MODEL_PATH)])
    assert "Traceback" not in result.stdout + result.stderr
    assert isinstance(result.exception, SystemExit) or result.exception is None, repr(result.exception)
    assert result.exit_code == (6 if case["error"] == "E_MODEL" else 5), (result.exit_code, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"refcodec: error: [{case['error']}] "), lines[0]
    assert list(out_dir.iterdir()) == []  # no output, no temp file left behind


def test_cli_keep_going_warns_with_the_class(tmp_path):
    case = next(c for c in CASES if c["error"] == "E_CRC" and _keep_going_allowed(c))
    src = tmp_path / "in.mcuc"
    src.write_bytes((INVALID / case["file"]).read_bytes())
    out = tmp_path / "out"  # two frame slots: the lost frame 0 keeps its slot (spec §8.3), so not one PNG
    result = CliRunner().invoke(cli, ["decode", str(src), "-o", str(out), "--model", str(MODEL_PATH),
                                      "--keep-going", "--json", "--any-decoder"])  # no decoder of MODEL_PATH
    assert result.exit_code == 0, result.stderr
    assert "[E_CRC]" in result.stderr and "lost frames [0]" in result.stderr
    rep = json.loads(result.stdout)
    assert rep["lost"] == [[0, 0]] and rep["repeated"] == [0] and rep["frames"] == 2
    assert rep["errors"][0].startswith("[E_CRC] ")
    assert sorted(p.name for p in out.iterdir()) == ["frame_000000.png", "frame_000001.png"]


def test_header_checked_against_model_before_packets(model):
    """Spec §8.1 step 2: channels / bits that differ from the model are E_HEADER, found before any packet
    is parsed: the same header followed by garbage still gives E_HEADER, not a packet error."""
    for number, offset, fmt, value in ((9, 19, "<B", 6), (10, 18, "<B", 11)):
        case = next(c for c in CASES if c["number"] == number)
        data = (INVALID / case["file"]).read_bytes()
        header = StreamHeader.unpack(data)
        with pytest.raises(BitstreamError) as info:
            check_model(header, model)
        assert info.value.code == "E_HEADER" and not isinstance(info.value, ModelMismatchError)
        assert str(struct.unpack_from(fmt, data, offset)[0]) in info.value.detail
        with pytest.raises(BitstreamError) as info:
            decode_symbols(data[:header.size] + b"garbage, not a packet", model)
        assert info.value.code == "E_HEADER"
    other = next(c for c in CASES if c["error"] == "E_MODEL")
    with pytest.raises(ModelMismatchError) as info:
        check_model(StreamHeader.unpack((INVALID / other["file"]).read_bytes()), model)
    assert info.value.code == "E_MODEL"


def _stream(frame_count: int, n_packets: int) -> bytes:
    """A raw v2 stream (no model needed): 8x8 frames, C = 2, b = 4, k = 1, raw chunk of one symbol (1 byte)."""
    header = StreamHeader(bytes(8), 8, 8, 2, 4, 0, None, None, frame_count)
    return header.pack() + b"".join(FramePacket(i, (Chunk(0, b"\x30"),)).pack() for i in range(n_packets))


def test_end_of_stream_rules():
    """Spec §7.4 / §8.1 step 3: bytes after the last of frame_count packets are E_TRUNCATED whatever they
    hold; in an open-ended stream fewer bytes than a packet head are E_TRUNCATED and a non-packet is E_SYNC."""
    ok = _stream(2, 2)
    assert len(parse_stream(ok).packets) == 2
    extra_packet = FramePacket(2, (Chunk(0, b"\x30"),)).pack()
    for tail in (b"\x00", b"\x00" * 7, b"\x00" * 12, b"MF", extra_packet):
        with pytest.raises(BitstreamError) as info:
            parse_stream(ok + tail)
        assert info.value.code == "E_TRUNCATED", str(info.value)
        assert f"{len(tail)} trailing bytes at offset {len(ok)}" in info.value.detail
    open_ended = _stream(0, 2)
    # fewer than 8 bytes (the smallest v2 packet) are E_TRUNCATED whatever they hold; "MF", index 0, k 1, entry
    # (length 1, raw) but 3 bytes left for chunk + CRC: E_TRUNCATED
    for tail, code in ((b"\x00" * 7, "E_TRUNCATED"), (b"MF\x00\x01", "E_TRUNCATED"), (b"\x00" * 12, "E_SYNC"),
                       (b"MF\x00\x01\x04" + b"\x00" * 3, "E_TRUNCATED"), (FramePacket(3, ()).pack(), "E_ORDER"),
                       (b"MF\x80\x00\x00" + b"\x00" * 4, "E_PACKET")):
        with pytest.raises(BitstreamError) as info:
            parse_stream(open_ended + tail)
        assert info.value.code == code, str(info.value)
    with pytest.raises(BitstreamError) as info:
        parse_stream(_stream(3, 2))
    assert info.value.code == "E_TRUNCATED" and "frame_count 3" in info.value.detail


def test_error_constructor():
    e = BitstreamError("packet at offset 68: bad", "E_CRC")
    assert (e.code, e.detail, str(e)) == ("E_CRC", "packet at offset 68: bad", "[E_CRC] packet at offset 68: bad")
    assert BitstreamError("[E_SYNC] x").code == "E_SYNC" and str(BitstreamError("[E_SYNC] x")) == "[E_SYNC] x"
    legacy = BitstreamError("no code given")
    assert legacy.code is None and str(legacy) == "no code given"
    assert ModelMismatchError("other model").code == "E_MODEL"
    assert str(ModelMismatchError("other model")) == "[E_MODEL] other model"
    with pytest.raises(ValueError):
        BitstreamError("x", "E_NOPE")
    with pytest.raises(ValueError):
        ModelMismatchError("x", "E_CRC")
    wrapped = e.with_context("frame 3")
    assert type(wrapped) is BitstreamError and str(wrapped) == "[E_CRC] frame 3: packet at offset 68: bad"


def test_every_decoder_raise_site_names_a_class():
    """Static check: every BitstreamError(...) in refcodec/bitstream, refcodec/entropy and refcodec/codec.py
    passes a literal spec class (second argument or code=); ModelMismatchError is always E_MODEL."""
    pkg = REPO / "refcodec"
    files = [*sorted((pkg / "bitstream").glob("*.py")), *sorted((pkg / "entropy").glob("*.py")), pkg / "codec.py"]
    seen = 0
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "BitstreamError":
                seen += 1
                code = node.args[1] if len(node.args) > 1 else next(
                    (k.value for k in node.keywords if k.arg == "code"), None)
                where = f"{path.relative_to(REPO)}:{node.lineno}"
                assert isinstance(code, ast.Constant) and code.value in SPEC_CODES, where
    assert seen >= 30


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_container_description_agrees(case):
    """The machine-readable description (bitstream_spec/mcuc_construct.py) rejects every container fault;
    only faults it cannot see (another model's id, the bits inside a chunk) parse with it."""
    from spec_check import spec_rejects

    data = (INVALID / case["file"]).read_bytes()
    assert spec_rejects(data) == (case["error"] not in ("E_MODEL", "E_CHUNK")), case["error"]
