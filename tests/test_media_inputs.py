"""A user's image and video files: CMYK, EXIF orientation, 16-bit, palette, alpha, files that are not images,
videos whose timestamps do not start at 0 or that are cut; one image reader and one resize for the package."""

from __future__ import annotations

import io
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from refcodec.errors import InputFileError
from refcodec.media import open_media, read_image, resize_frame


def smooth(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth RGB test picture (JPEG keeps it within a few levels)."""
    y, x = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(seed)
    a, b, c = rng.uniform(0.02, 0.08, 3)
    img = np.stack([128 + 100 * np.sin(a * x), 128 + 100 * np.cos(b * y), 128 + 60 * np.sin(c * (x + y))], -1)
    return img.astype(np.uint8)


def png16(path: Path, a: np.ndarray) -> None:
    """Write a 16-bit PNG by hand (grey, RGB or RGBA; Pillow cannot write 16-bit colour)."""
    h, w, c = a.shape
    raw = b"".join(b"\x00" + a[y].astype(">u2").tobytes() for y in range(h))

    def chunk(t: bytes, d: bytes) -> bytes:
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))

    ihdr = struct.pack(">IIBBBBB", w, h, 16, {1: 0, 3: 2, 4: 6}[c], 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw))
                     + chunk(b"IEND", b""))


def test_cmyk_jpeg_keeps_its_colours(tmp_path):
    rgb = smooth(40, 56)
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "c.jpg", quality=95)
    assert Image.open(tmp_path / "c.jpg").mode == "CMYK"
    notes: list[str] = []
    got = read_image(tmp_path / "c.jpg", notes).astype(int)
    # before: the 4th channel was taken as alpha and C, M, Y shown as R, G, B (inverted colours)
    assert np.abs(got - rgb).mean() < 4, np.abs(got - rgb).mean()
    assert any("CMYK" in n for n in notes)


@pytest.mark.parametrize("orientation,turn", [(3, lambda a: a[::-1, ::-1]), (6, lambda a: np.rot90(a, -1)),
                                              (8, lambda a: np.rot90(a, 1)), (2, lambda a: a[:, ::-1])])
def test_exif_orientation_applied_as_viewers_do(tmp_path, orientation, turn):
    stored = smooth(24, 40)
    stored[:4, :4] = 0  # a marker in the stored top-left corner
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(stored).save(tmp_path / "p.png", exif=exif)
    notes: list[str] = []
    got = read_image(tmp_path / "p.png", notes)
    assert np.array_equal(got, turn(stored)), orientation
    assert any(f"EXIF orientation {orientation}" in n for n in notes)


def test_16bit_palette_grey_and_alpha(tmp_path):
    g = (np.arange(12 * 20, dtype=np.uint16).reshape(12, 20) * 271)
    rgba = np.stack([g, g // 2, g // 3, 65535 - g], -1)
    png16(tmp_path / "g16.png", g[:, :, None])
    png16(tmp_path / "c16.png", rgba[:, :, :3])
    png16(tmp_path / "a16.png", rgba)
    want = (rgba[:, :, :3] >> 8).astype(np.uint8)
    for name, expect in (("g16.png", np.repeat(want[:, :, :1], 3, 2)), ("c16.png", want), ("a16.png", want)):
        notes: list[str] = []
        assert np.array_equal(read_image(tmp_path / name, notes), expect), name
        assert any("16-bit" in n for n in notes), (name, notes)
    notes = []
    read_image(tmp_path / "a16.png", notes)
    assert any("alpha channel dropped" in n for n in notes)
    pal = Image.fromarray(smooth(16, 16)).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    pal.save(tmp_path / "p.png")
    assert np.array_equal(read_image(tmp_path / "p.png"), np.asarray(pal.convert("RGB")))
    Image.fromarray(np.eye(8, dtype=bool)).save(tmp_path / "bw.png")
    assert read_image(tmp_path / "bw.png")[0, 0].tolist() == [255, 255, 255]
    Image.fromarray(smooth(9, 7)[:, :, 0]).save(tmp_path / "l.bmp")
    assert read_image(tmp_path / "l.bmp").shape == (9, 7, 3)


def test_files_that_are_not_images_say_what_is_wrong(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "noise.png").write_bytes(bytes(np.random.default_rng(0).integers(0, 256, 300, dtype=np.uint8)))
    (tmp_path / "zip.png").write_bytes(b"PK\x03\x04" + bytes(100))
    buf = io.BytesIO()
    Image.fromarray(smooth(64, 64)).save(buf, "PNG")
    (tmp_path / "cut.png").write_bytes(buf.getvalue()[:200])
    expect = {"empty.png": "is empty (0 bytes)", "noise.png": "is not a PNG file",
              "zip.png": "its content is a zip file", "cut.png": "cut or corrupt"}
    for name, words in expect.items():
        with pytest.raises(InputFileError) as info:
            read_image(tmp_path / name)
        msg = str(info.value)
        assert words in msg and name in msg and "backend" not in msg and "\n" not in msg, msg


def test_one_reader_one_suffix_list_one_resize(tmp_path):
    """verify, eval and training read images with media.read_image and list folders with one suffix list."""
    import refcodec.eval.prep as prep
    import refcodec.verify.inputs as vin
    from refcodec.media import reader

    rgb = smooth(30, 50)
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "a.jpg", quality=95)
    Image.fromarray(rgb).save(tmp_path / "b.PPM")
    Image.fromarray(rgb).save(tmp_path / "c.webp", lossless=True)
    want = [p.name for p in reader.list_images(tmp_path)]
    assert want == ["a.jpg", "b.PPM", "c.webp"]
    assert [p.name for p in prep.list_images(tmp_path)] == want
    assert len(vin.read_frames(tmp_path)) == 3
    a = read_image(tmp_path / "a.jpg")
    assert np.array_equal(vin.read_image(tmp_path / "a.jpg"), a)
    assert np.array_equal(prep.load_prepared(tmp_path / "a.jpg", 24), resize_frame(a, (24, 24)))
    pytest.importorskip("torch", reason="training.data needs torch (make install-train)")
    from refcodec.training import data

    assert [p.name for p in data.list_images(tmp_path)] == want
    assert np.array_equal(data.load_rgb(tmp_path / "a.jpg"), a)


def _ffmpeg(*args: str) -> None:
    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", *args], check=True)


@pytest.mark.parametrize("how", [["-output_ts_offset", "0.04"], ["-vf", "select='not(eq(n,4))'"]])
def test_avi_with_a_timestamp_gap_keeps_its_frame_count(tmp_path, how):
    """ffmpeg's default constant-rate output repeats a frame to fill a gap in the timestamps: 9 frames came
    out of an 8-frame AVI whose timestamps start at 1 or skip one."""
    p = tmp_path / "a8.avi"
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=25", *how, "-frames:v", "8", "-c:v", "mjpeg", str(p))
    src = open_media(p)
    assert len(list(src.frames)) == 8 and src.notes == []


def test_cut_video_is_reported(tmp_path):
    p = tmp_path / "d.mp4"
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=25", "-frames:v", "100", "-c:v", "libx264",
            "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(p))
    src = open_media(p)
    assert len(list(src.frames)) == 100 and src.notes == []
    data = p.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: int(len(data) * 0.6)])
    src = open_media(tmp_path / "cut.mp4")
    n = len(list(src.frames))
    assert 10 < n < 95
    assert len(src.notes) == 1 and f"ended after {n} frames" in src.notes[0] and "cut" in src.notes[0]
    src = open_media(tmp_path / "cut.mp4", max_frames=5)  # stopping early is not a cut file
    assert len(list(src.frames)) == 5 and src.notes == []


def test_phone_jpeg_orientation_and_the_cli_says_what_it_did(tmp_path):
    from click.testing import CliRunner

    from refcodec.cli.main import cli

    stored = smooth(32, 48)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display", as phones write portrait photos
    Image.fromarray(stored).save(tmp_path / "phone.jpg", quality=95, exif=exif)
    got = read_image(tmp_path / "phone.jpg").astype(int)
    assert got.shape == (48, 32, 3) and np.abs(got - np.rot90(stored, -1)).mean() < 3
    rgba = np.dstack([smooth(16, 16), np.full((16, 16), 100, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "a.png")
    for name, words in (("phone.jpg", "EXIF orientation 6 applied"), ("a.png", "alpha channel dropped")):
        r = CliRunner().invoke(cli, ["encode", str(tmp_path / name), "-o", str(tmp_path / f"{name}.mcuc"),
                                     "--json"])
        assert r.exit_code == 0, r.stderr
        assert f"refcodec: note: '{tmp_path / name}': {words}" in r.stderr
    info = CliRunner().invoke(cli, ["info", str(tmp_path / "phone.jpg.mcuc"), "--json"])
    import json

    assert (json.loads(info.stdout)["width"], json.loads(info.stdout)["height"]) == (32, 48)
