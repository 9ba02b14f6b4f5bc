"""Media I/O: Y4M reader/writer and its integer colour conversion, images, folders, videos, resizing,
atomic writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from refcodec.errors import InputFileError, InvalidArgumentError, OutputFileError, RefcodecError
from refcodec.io_utils import atomic_path, atomic_write
from refcodec.media import open_media, read_image, resize_frame, write_frames
from refcodec.media.reader import fps_fraction
from refcodec.media.y4m import downsample_420, rgb_to_yuv, yuv_to_rgb

from datasets import PHOTO_224, VIDEO, require_file


def test_bt601_hand_values():
    # MSDN 8-bit formulas, computed by hand: red -> (82, 90, 240); black -> (16, 128, 128); white -> (235, 128, 128)
    rgb = np.array([[[255, 0, 0], [0, 0, 0], [255, 255, 255]]], dtype=np.uint8)
    y, u, v = rgb_to_yuv(rgb)
    assert y.tolist() == [[82, 16, 235]] and u.tolist() == [[90, 128, 128]] and v.tolist() == [[240, 128, 128]]
    # back: black and white exact; red: C=66, D=-38, E=112:
    # R = (19668 + 45808 + 128) >> 8 = 256 -> 255; G = (19668 + 3800 - 23296 + 128) >> 8 = 1; B = (19668 - 19608 + 128) >> 8 = 0
    back = yuv_to_rgb(y, u, v)
    assert back[0, 1].tolist() == [0, 0, 0] and back[0, 2].tolist() == [255, 255, 255]
    assert back[0, 0].tolist() == [255, 1, 0]


def test_downsample_420_rounded_mean_with_edge():
    p = np.array([[0, 1, 10], [2, 2, 20], [100, 100, 7]], dtype=np.uint8)
    # blocks: (0+1+2+2+2)>>2=1; (10+10+20+20+2)>>2=15; (100+100+100+100+2)>>2=100; (7*4+2)>>2=7
    assert downsample_420(p).tolist() == [[1, 15], [100, 7]]


@pytest.mark.parametrize("chroma,max_err", [("444", 3), ("420", 255)])
def test_y4m_round_trip(tmp_path, chroma, max_err):
    from refcodec.media.y4m import write_y4m

    img = read_image(PHOTO_224)[:33, :47]  # odd sides
    p = tmp_path / "a.y4m"
    with open(p, "wb") as f:
        assert write_y4m(f, [img, img[::-1]], (25, 2), chroma=chroma) == 2
    head = p.read_bytes()[:60]
    assert head.startswith(b"YUV4MPEG2 W47 H33 F25:2 Ip A1:1 C" + (b"444" if chroma == "444" else b"420jpeg"))
    src = open_media(p)
    frames = list(src.frames)
    assert src.fps == (25, 2) and len(frames) == 2 and frames[0].shape == (33, 47, 3)
    err = np.abs(frames[0].astype(int) - img)
    assert err.max() <= max_err and err.mean() < 2.0


def test_y4m_flat_colour_blocks_survive_420(tmp_path):
    img = np.zeros((8, 8, 3), dtype=np.uint8)
    img[:4] = (200, 30, 90)
    img[4:] = (16, 180, 250)
    write_frames(tmp_path / "b.y4m", [img])
    back = next(open_media(tmp_path / "b.y4m").frames)
    assert np.abs(back.astype(int) - img).max() <= 3


def test_y4m_bad_files(tmp_path):
    cases = {
        "c422.y4m": b"YUV4MPEG2 W4 H4 F25:1 C422\nFRAME\n" + bytes(32),
        "nosize.y4m": b"YUV4MPEG2 H4 F25:1\n",
        "huge.y4m": b"YUV4MPEG2 W100000 H4\n",
        "badfps.y4m": b"YUV4MPEG2 W4 H4 F25:0\n",
        "notyuv.y4m": b"RIFF....\n",
        "cut.y4m": b"YUV4MPEG2 W4 H4 F25:1 C420jpeg\nFRAME\n" + bytes(10),
        "noframe.y4m": b"YUV4MPEG2 W4 H4 F25:1 C420jpeg\nFRAMX\n" + bytes(24),
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(InputFileError):
            list(open_media(tmp_path / name).frames)


def test_images_and_folders(tmp_path):
    import imageio.v3 as iio

    grey = (np.arange(12, dtype=np.uint8).reshape(3, 4) * 20)
    iio.imwrite(tmp_path / "g.png", grey)
    rgba = np.dstack([np.full((3, 4, 3), 7, np.uint8), np.full((3, 4), 9, np.uint8)])
    iio.imwrite(tmp_path / "h.png", rgba)
    assert np.array_equal(read_image(tmp_path / "g.png"), np.repeat(grey[:, :, None], 3, axis=2))
    assert np.array_equal(read_image(tmp_path / "h.png"), np.full((3, 4, 3), 7, np.uint8))
    src = open_media(tmp_path, max_frames=1)
    assert src.kind == "folder" and src.n_frames == 1 and len(list(src.frames)) == 1
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8garbage")
    with pytest.raises(InputFileError, match="bad.jpg"):
        read_image(tmp_path / "bad.jpg")
    with pytest.raises(InputFileError, match="unsupported input format"):
        open_media(Path(__file__))
    with pytest.raises(InvalidArgumentError):
        open_media(tmp_path / "g.png", max_frames=0)


def test_video_reading_first_frames():
    src = open_media(require_file(VIDEO / "car-detection.mp4", "the video clip car-detection.mp4"), max_frames=3)
    frames = list(src.frames)
    assert src.fps == (25, 2) and src.n_frames == 3
    assert len(frames) == 3 and frames[0].shape == (432, 768, 3) and frames[0].dtype == np.uint8


def test_fps_fraction():
    assert fps_fraction(29.97002997) == (30000, 1001)
    assert fps_fraction(12.5) == (25, 2) and fps_fraction(10.0) == (10, 1)
    assert fps_fraction(float("nan")) == (25, 1)


def test_resize_cover_and_centre_crop():
    img = np.zeros((200, 400, 3), dtype=np.uint8)
    img[:, 200:] = 255  # left half black, right half white
    out = resize_frame(img, (224, 224))
    # cover: scale 224/200 -> 448x224, crop 112 columns from the left -> boundary at column 224 - 112 = 112
    assert out.shape == (224, 224, 3)
    assert np.all(out[:, :110] == 0) and np.all(out[:, 114:] == 255)
    flat = np.full((50, 70, 3), 77, np.uint8)
    assert np.all(resize_frame(flat, (33, 20)) == 77)
    with pytest.raises(InvalidArgumentError):
        resize_frame(flat, (0, 5))


def test_atomic_write_replaces_and_cleans_up(tmp_path):
    p = tmp_path / "out.bin"
    atomic_write(p, b"one")
    atomic_write(p, b"two")
    assert p.read_bytes() == b"two"
    with pytest.raises(RuntimeError):
        with atomic_path(p) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("boom")
    assert p.read_bytes() == b"two" and sorted(x.name for x in tmp_path.iterdir()) == ["out.bin"]
    with pytest.raises(OutputFileError, match="does not exist or is not a folder"):
        atomic_write(tmp_path / "no" / "x.bin", b"")
    (tmp_path / "sub").mkdir()
    with pytest.raises(RefcodecError, match="cannot write"):
        atomic_write(tmp_path / "sub", b"x")  # os.replace onto a folder fails
    assert sorted(x.name for x in tmp_path.iterdir()) == ["out.bin", "sub"]


def test_write_json_creates_the_folder_and_leaves_no_temp(tmp_path):
    from refcodec.io_utils import write_json

    out = tmp_path / "new" / "results.json"
    write_json(out, {"ratio": 1.5, "rows": [1, 2]})
    text = out.read_text()
    assert json.loads(text) == {"ratio": 1.5, "rows": [1, 2]} and text.endswith("}\n")
    assert text.splitlines()[1].startswith(" \"")  # indent 1 by default
    write_json(out, [3], indent=2)
    assert json.loads(out.read_text()) == [3]
    assert sorted(p.name for p in out.parent.iterdir()) == ["results.json"]
