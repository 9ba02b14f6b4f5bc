"""`refcodec encode / decode / truncate / info` in-process: round trips, JSON output, and every kind of
bad input ending in one line on stderr and a non-zero exit, never a traceback or a half-written file."""

from __future__ import annotations

import json
import struct
import zlib

import numpy as np
import pytest
from spec_check import spec_valid

from refcodec.media import open_media

from datasets import PHOTO_224, VIDEO, video_clips


from cli_runner import entries as only  # noqa: E402  (tests/cli_runner.py)
from cli_runner import fails, run  # noqa: E402


@pytest.fixture(scope="module")
def small_png(tmp_path_factory):
    """A 45x30 crop of a Kodak photo (odd sizes on purpose; the committed vector input, no data set needed)."""
    import imageio.v3 as iio

    p = tmp_path_factory.mktemp("img") / "small.png"
    iio.imwrite(p, iio.imread(PHOTO_224)[100:130, 100:145])
    return p


@pytest.fixture(scope="module")
def stream3(tmp_path_factory, small_png):
    """A 3-frame stream from a folder of 3 images."""
    import imageio.v3 as iio

    folder = tmp_path_factory.mktemp("frames")
    img = iio.imread(small_png)
    for i in range(3):
        iio.imwrite(folder / f"f{i}.png", np.roll(img, 5 * i, axis=1))
    out = folder.parent / "three.mcuc"
    assert run("encode", folder, "-o", out, "--fps", "30000/1001").exit_code == 0
    return out


def test_encode_info_truncate_decode_png(tmp_path, small_png):
    s = tmp_path / "a.mcuc"
    r = run("encode", small_png, "-o", s, "--json")
    assert r.exit_code == 0
    enc = json.loads(r.stdout)
    assert (enc["width"], enc["height"], enc["frames"], enc["bytes"]) == (45, 30, 1, s.stat().st_size)
    spec_valid(s.read_bytes())
    info = json.loads(run("info", s, "--json").stdout)
    # a still image: container version 2, no timing, no frame_count -> the 25-byte header (spec §7.1)
    assert (info["latent_width"], info["latent_height"], info["frame_count"], info["fps"]) == (6, 4, 0, None)
    assert (info["version"], info["header_bytes"], info["frames"][0]["offset"]) == (2, 25, 25)
    # packet: sync 2 + index 1 + k 1 + CRC 4, and a 1-byte table entry per chunk (every chunk < 32 bytes)
    assert max(info["bytes_per_channel"]) < 32
    assert info["frames"][0]["k"] == 12 and sum(info["bytes_per_channel"]) + 8 + 12 == info["frames"][0]["bytes"]
    assert 25 + info["frames"][0]["bytes"] == enc["bytes"]
    t = tmp_path / "t.mcuc"
    assert run("truncate", s, "-o", t, "--channels", "2").exit_code == 0
    assert json.loads(run("info", t, "--json").stdout)["frames"][0]["k"] == 2
    spec_valid(t.read_bytes())
    png = tmp_path / "out.png"
    r = run("decode", t, "-o", png, "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["frames"] == 1
    assert next(open_media(png).frames).shape == (30, 45, 3)
    assert only(tmp_path) == ["a.mcuc", "out.png", "t.mcuc"]  # no temp files left


def test_truncate_frame_bytes(tmp_path, stream3):
    out = tmp_path / "b.mcuc"
    r = run("truncate", stream3, "-o", out, "--frame-bytes", 200, "--json")
    assert r.exit_code == 0
    info = json.loads(run("info", out, "--json").stdout)
    assert all(f["bytes"] <= 200 for f in info["frames"]) and info["frames_present"] == 3
    spec_valid(out.read_bytes())
    fails(2, "truncate", stream3, "-o", out, "--frame-bytes", 5, "--force", match="5 bytes")
    fails(2, "truncate", stream3, "-o", out, match="--channels")


def test_decode_folder_and_y4m(tmp_path, stream3):
    r = run("decode", stream3, "-o", tmp_path / "frames")
    assert r.exit_code == 0 and only(tmp_path / "frames") == [f"frame_00000{i}.png" for i in range(3)]
    assert run("decode", stream3, "-o", tmp_path / "v.y4m").exit_code == 0
    src = open_media(tmp_path / "v.y4m")
    assert src.fps == (30000, 1001) and [f.shape for f in src.frames] == [(30, 45, 3)] * 3
    fails(2, "decode", stream3, "-o", tmp_path / "one.png", match="3 frames")
    assert not (tmp_path / "one.png").exists()


@pytest.mark.parametrize("clip", video_clips())
def test_video_clip_round_trip(tmp_path, clip):
    s = tmp_path / "v.mcuc"
    assert run("encode", VIDEO / clip, "-o", s, "--frames", 2, "--size", "64x48").exit_code == 0
    spec_valid(s.read_bytes())
    assert run("decode", s, "-o", tmp_path / "v.mp4").exit_code == 0
    frames = list(open_media(tmp_path / "v.mp4").frames)
    assert len(frames) == 2 and frames[0].shape == (48, 64, 3)


def test_dump_layers(tmp_path, small_png):
    d = tmp_path / "layers"
    r = run("encode", small_png, "--dump-layers", d, "-o", tmp_path / "x.mcuc")
    assert r.exit_code == 0 and (tmp_path / "x.mcuc").exists()
    shapes = {n: np.load(d / f"{n}.npy", allow_pickle=False) for n in ("input", "conv1", "conv2", "latent")}
    assert {n: (a.dtype, a.shape) for n, a in shapes.items()} == {
        "input": (np.int8, (1, 32, 48, 3)), "conv1": (np.int8, (1, 16, 24, 16)),
        "conv2": (np.int8, (1, 4, 6, 16)), "latent": (np.int8, (1, 4, 6, 12))}


def test_bad_inputs_one_line_errors(tmp_path, small_png, stream3):
    fails(3, "encode", tmp_path / "missing.png", "-o", tmp_path / "x.mcuc", match="missing.png")
    (tmp_path / "notes.txt").write_text("hello")
    fails(3, "encode", tmp_path / "notes.txt", "-o", tmp_path / "x.mcuc", match=".txt")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    fails(3, "encode", tmp_path / "broken.png", "-o", tmp_path / "x.mcuc", match="broken.png")
    (tmp_path / "empty").mkdir()
    fails(3, "encode", tmp_path / "empty", "-o", tmp_path / "x.mcuc", match="no image")
    fails(2, "encode", small_png, "-o", tmp_path / "x.mcuc", "--channels", 13, match="13")
    fails(2, "encode", small_png, "-o", tmp_path / "x.mcuc", "--size", "0x5", match="0x5")
    fails(3, "decode", tmp_path / "nope.mcuc", "-o", tmp_path / "x.png", match="nope.mcuc")
    fails(3, "info", tmp_path, match="no such stream file")
    fails(3, "decode", stream3, "-o", tmp_path / "x.gif", match=".gif")
    fails(5, "info", small_png, match="magic")
    assert only(tmp_path) == ["broken.png", "empty", "notes.txt"]


def test_wrong_model_rejected(tmp_path, stream3):
    fails(6, "decode", stream3, "-o", tmp_path / "x", "--model", "random", match="model id")
    assert only(tmp_path) == []


def test_corrupt_truncated_and_hostile_streams(tmp_path, stream3):
    data = stream3.read_bytes()
    bad = tmp_path / "bad.mcuc"
    b = bytearray(data)
    b[len(b) // 2] ^= 0x40
    bad.write_bytes(bytes(b))
    fails(5, "decode", bad, "-o", tmp_path / "o.y4m", match="")
    bad.write_bytes(data[: len(data) - 7])
    fails(5, "info", bad, match="truncated")
    fails(5, "truncate", bad, "-o", tmp_path / "t.mcuc", "--channels", 1)
    h = bytearray(data)
    assert h[5] == 0x03  # v2 header with timing and frame_count: 37 bytes, width at 14, CRC at 33
    struct.pack_into("<HH", h, 14, 65535, 65535)  # 65535 x 65535 with a correct CRC
    struct.pack_into("<I", h, 33, zlib.crc32(bytes(h[:33])))
    bad.write_bytes(bytes(h))
    fails(5, "decode", bad, "-o", tmp_path / "o.y4m", match="65535")
    assert only(tmp_path) == ["bad.mcuc"]


def test_keep_going_reports_lost_frames(tmp_path, stream3):
    from refcodec.bitstream import parse_stream

    data = bytearray(stream3.read_bytes())
    offs = parse_stream(bytes(data)).packet_offsets
    data[offs[2] - 6] ^= 0x01  # inside frame 1
    bad = tmp_path / "bad.mcuc"
    bad.write_bytes(bytes(data))
    fails(5, "decode", bad, "-o", tmp_path / "o", match="CRC")
    r = run("decode", bad, "-o", tmp_path / "o", "--keep-going", "--json")
    assert r.exit_code == 0
    rep = json.loads(r.stdout)
    # the lost frame keeps its slot: frame 0 is repeated in slot 1 (spec §8.3), and that is reported
    assert rep["lost"] == [[1, 1]] and rep["repeated"] == [1] and rep["frames"] == 3 and "lost frames [1]" in r.stderr
    assert only(tmp_path / "o") == [f"frame_00000{i}.png" for i in range(3)]
    got = [next(open_media(tmp_path / "o" / f"frame_00000{i}.png").frames) for i in range(3)]
    assert np.array_equal(got[0], got[1]) and not np.array_equal(got[1], got[2])
    assert json.loads(run("info", bad, "--json", "--keep-going").stdout)["lost"] == [[1, 1]]
