"""A user's outputs: never overwrite an input, no clobbering without --force, output problems found before the
work, one-line errors (exit 8) for read-only folders and full disks with nothing left at the target, no
leftovers after kill -9, and the decoder that belongs to the stream's model."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from refcodec.media import open_media

REPO = Path(__file__).resolve().parents[1]


from cli_runner import entries, fails, run  # noqa: E402  (tests/cli_runner.py)


def picture(h=30, w=45, seed=0) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([(x * 5 + seed * 40) % 256, (y * 7) % 256, ((x + y) * 3) % 256], -1).astype(np.uint8)


@pytest.fixture()
def png(tmp_path) -> Path:
    p = tmp_path / "photo.png"
    Image.fromarray(picture()).save(p)
    return p


@pytest.fixture()
def stream3(tmp_path) -> Path:
    folder = tmp_path / "src"
    folder.mkdir()
    for i, name in enumerate(["b_first.png", "c_second.jpg", "d_third.png"]):
        Image.fromarray(picture(seed=i)).save(folder / name, quality=95)
    out = tmp_path / "three.mcuc"
    assert run("encode", folder, "-o", out, "--fps", "25").exit_code == 0
    return out


# ---- item 3: the source is never overwritten, suffixes are checked, no clobbering without --force ----------

def test_output_that_is_the_input_is_refused(tmp_path, png):
    before = png.read_bytes()
    fails(2, "encode", png, "-o", png, match="is the input")
    fails(2, "encode", png, "-o", tmp_path / "." / "photo.png", match="is the input")
    assert png.read_bytes() == before
    s = tmp_path / "a.mcuc"
    run("encode", png, "-o", s)
    fails(2, "truncate", s, "-o", s, "--channels", 2, "--force", match="is the input")


def test_suffix_of_the_wrong_kind_is_refused(tmp_path, png):
    fails(2, "encode", png, "-o", tmp_path / "out.png", match="writes an .mcuc stream")
    fails(2, "encode", png, "-o", tmp_path / "out.mp4", match="out.mcuc")
    s = tmp_path / "a.mcuc"
    run("encode", png, "-o", s)
    fails(2, "decode", s, "-o", tmp_path / "b.mcuc", match="decode writes pictures")
    fails(2, "truncate", s, "-o", tmp_path / "t.jpg", "--channels", 1, match="writes an .mcuc stream")
    assert entries(tmp_path) == ["a.mcuc", "photo.png"]


def test_no_clobber_by_default_force_overwrites(tmp_path, png):
    s = tmp_path / "a.mcuc"
    s.write_bytes(b"precious")
    fails(8, "encode", png, "-o", s, match="--force")
    assert s.read_bytes() == b"precious"
    assert run("encode", png, "-o", s, "--force").exit_code == 0 and s.read_bytes()[:4] == b"MCUC"
    out = tmp_path / "o.png"
    out.write_bytes(b"x")
    fails(8, "decode", s, "-o", out, match="exists")
    assert run("decode", s, "-o", out, "--force").exit_code == 0
    d = tmp_path / "frames"
    d.mkdir()
    (d / "keep.txt").write_text("mine")
    fails(8, "decode", s, "-o", d, match="not empty")
    assert entries(d) == ["keep.txt"]
    # --force adds the frames (replacing files of the same names) and never deletes the user's other files
    assert run("decode", s, "-o", d, "--force").exit_code == 0 and entries(d) == ["frame_000000.png", "keep.txt"]
    assert run("decode", s, "-o", d, "--force").exit_code == 0 and entries(d) == ["frame_000000.png", "keep.txt"]


# ---- item 4: output problems before the work ---------------------------------------------------------------

def test_output_problems_found_before_the_work(tmp_path, stream3, png, monkeypatch):
    import refcodec.codec as codec
    import refcodec.decoder.pairing as pairing

    def boom(*a, **k):
        raise AssertionError("the work started before the output was checked")

    monkeypatch.setattr(pairing, "decoder_for", boom)
    fails(2, "decode", stream3, "-o", tmp_path / "one.png", match="3 frames")
    monkeypatch.setattr(codec, "encode_frames", boom)
    fails(8, "encode", png, "-o", tmp_path / "missing" / "x.mcuc", match="does not exist")
    fails(8, "decode", stream3, "-o", tmp_path / "missing" / "x.y4m", match="does not exist")
    assert not (tmp_path / "one.png").exists()


def test_read_only_folder_is_one_line_exit_8(tmp_path, png, monkeypatch):
    s = tmp_path / "a.mcuc"
    run("encode", png, "-o", s)
    import tempfile

    real_mkstemp, real_mkdtemp = tempfile.mkstemp, tempfile.mkdtemp

    def denied(*a, **k):
        raise PermissionError(errno.EACCES, "Permission denied")

    ro = tmp_path / "ro"
    ro.mkdir()
    monkeypatch.setattr(tempfile, "mkstemp", lambda *a, dir=None, **k: denied() if str(dir) == str(ro)
                        else real_mkstemp(*a, dir=dir, **k))
    monkeypatch.setattr(tempfile, "mkdtemp", lambda *a, dir=None, **k: denied() if str(dir) == str(ro)
                        else real_mkdtemp(*a, dir=dir, **k))
    fails(8, "encode", png, "-o", ro / "x.mcuc", match="Permission denied")
    fails(8, "decode", s, "-o", ro / "x.png", match="Permission denied")
    fails(8, "decode", s, "-o", ro / "frames", match="Permission denied")
    fails(8, "encode", png, "--dump-layers", ro / "layers", match="Permission denied")
    fails(8, "truncate", s, "-o", ro / "t.mcuc", "--channels", 1, match="Permission denied")
    assert entries(ro) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a 0555 folder (the monkeypatched test above "
                    "covers the same path)")
def test_read_only_folder_for_real(tmp_path, png):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        fails(8, "encode", png, "-o", ro / "x.mcuc", match="Permission denied")
        fails(8, "encode", png, "--dump-layers", ro / "layers", match="Permission denied")
    finally:
        ro.chmod(0o755)


# ---- issue 12 item 8: a full disk reaches the exit code; nothing is renamed into place ---------------------

def _cli_with_file_size_limit(args: list[str], limit: int) -> subprocess.CompletedProcess:
    """Run the CLI in a child whose files may not grow past `limit` bytes (RLIMIT_FSIZE, inherited by ffmpeg):
    a write past it fails with EFBIG, as a write on a full disk fails with ENOSPC."""
    code = ("import resource, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
            f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit})); "
            "from refcodec.cli.main import cli; sys.argv[0] = 'refcodec'; cli()")
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env,
                          timeout=300)


@pytest.mark.parametrize("out_name,limit", [("v.mp4", 400), ("one.png", 0), ("v.y4m", 100), ("frames", 0)])
def test_full_disk_fails_with_one_line_and_leaves_nothing(tmp_path, stream3, out_name, limit):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    s = stream3
    if out_name == "one.png":  # a one-frame stream
        s = tmp_path / "single.mcuc"
        assert run("encode", tmp_path / "src" / "b_first.png", "-o", s).exit_code == 0
    r = _cli_with_file_size_limit(["decode", str(s), "-o", str(out_dir / out_name)], limit)
    assert r.returncode == 8, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("refcodec: error: cannot write"), r.stderr
    assert "Traceback" not in r.stderr and "Exception ignored" not in r.stderr
    assert entries(out_dir) == []


def test_enospc_from_the_png_writer(tmp_path, stream3, monkeypatch):
    from PIL import Image as PILImage

    def full(self, fp, *a, **k):
        fp.write(b"\x89PNG")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(PILImage.Image, "save", full)
    fails(8, "decode", stream3, "-o", tmp_path / "frames", match="No space left on device")
    assert entries(tmp_path) == ["src", "three.mcuc"]


# ---- issue 12 item 9: leftovers after kill -9 are recognisable and removed by the next run ------------------

def test_kill_9_leftovers_are_cleaned_by_the_next_write(tmp_path, stream3):
    out = tmp_path / "out"
    out.mkdir()
    code = ("import sys, time, numpy as np; from refcodec.media import write_frames; "
            "frames = (np.zeros((64, 64, 3), np.float32) + i / 10 for i in range(10**6)); "
            f"write_frames(sys.argv[1], (time.sleep(0.01) or f for f in frames))")
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    procs = [subprocess.Popen([sys.executable, "-c", code, str(out / name)], env=env)
             for name in ("v.y4m", "frames")]
    deadline = time.time() + 60
    while time.time() < deadline and len([n for n in entries(out) if ".refcodec-tmp" in n]) < 2:
        time.sleep(0.1)
    time.sleep(0.5)
    for p in procs:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
    left = entries(out)
    assert len(left) == 2 and all(n.startswith(".") and ".refcodec-tmp" in n for n in left), left
    assert not (out / "v.y4m").exists() and not (out / "frames").exists()
    # readers ignore them (a folder of images lists none), and the next write into the folder removes them
    assert run("decode", stream3, "-o", out / "v.y4m").exit_code == 0
    assert entries(out) == ["v.y4m"]


def test_folder_output_is_written_then_renamed(tmp_path, stream3, monkeypatch):
    import refcodec.media.writer as writer

    real = writer.write_png
    calls = []

    def spy(path, frame, **kw):
        calls.append(Path(path))
        assert not (tmp_path / "frames").exists()  # nothing at the target while writing
        if len(calls) == 3:
            raise OSError(errno.EIO, "Input/output error")
        real(path, frame, **kw)

    monkeypatch.setattr(writer, "write_png", spy)
    fails(8, "decode", stream3, "-o", tmp_path / "frames", match="Input/output error")
    assert all(".refcodec-tmp" in c.parent.name for c in calls)
    assert entries(tmp_path) == ["src", "three.mcuc"]


# ---- item 7: the decoder belongs to the stream's model -----------------------------------------------------

def test_decoder_of_another_model_is_an_error(tmp_path):
    from refcodec.model.random_model import make_random_model

    img = tmp_path / "i.png"
    Image.fromarray(picture(16, 24)).save(img)
    s = tmp_path / "r.mcuc"
    assert run("encode", img, "-o", s, "--model", "random").exit_code == 0
    fails(4, "decode", s, "-o", tmp_path / "o.png", "--model", "random", match="trained for encoder")
    vec = REPO / "vectors" / "models" / "rand-double.npz"
    s2 = tmp_path / "v.mcuc"
    assert run("encode", img, "-o", s2, "--model", vec).exit_code == 0
    fails(4, "decode", s2, "-o", tmp_path / "o.png", "--model", vec, match="--any-decoder")
    assert entries(tmp_path) == ["i.png", "r.mcuc", "v.mcuc"]
    r = run("decode", s, "-o", tmp_path / "o.png", "--model", "random", "--any-decoder")
    assert r.exit_code == 0 and "warning" in r.stderr and (tmp_path / "o.png").exists()
    # the bundled model's stream with the bundled decoder: no warning
    s3 = tmp_path / "b.mcuc"
    assert run("encode", img, "-o", s3).exit_code == 0
    r = run("decode", s3, "-o", tmp_path / "b.png")
    assert r.exit_code == 0 and "warning" not in r.stderr
    from refcodec.codec import decode_stream
    from refcodec.errors import ModelFileError

    with pytest.raises(ModelFileError, match="trained for encoder"):
        decode_stream(s.read_bytes(), make_random_model(0))


def test_missing_bundled_model_is_an_error(monkeypatch, tmp_path):
    from refcodec.errors import ModelFileError
    from refcodec.model import registry

    monkeypatch.setattr(registry, "ASSETS", tmp_path)
    registry.default_model.cache_clear()
    try:
        with pytest.raises(ModelFileError, match="no bundled encoder model"):
            registry.resolve_model(None)
    finally:
        registry.default_model.cache_clear()


# ---- item 5: keep-going ------------------------------------------------------------------------------------

def test_still_image_with_its_packet_lost(tmp_path, png):
    s = tmp_path / "a.mcuc"
    run("encode", png, "-o", s)
    data = bytearray(s.read_bytes())
    data[-6] ^= 0x10  # inside the only packet
    s.write_bytes(bytes(data))
    info = json.loads(run("info", s, "--json", "--keep-going").stdout)
    assert info["lost"] == [[0, 0]] and info["frames_present"] == 0
    r = fails(5, "decode", s, "-o", tmp_path / "o.png", "--keep-going", match="lost frames [0]")
    assert "0 frames" not in r.stderr and "[E_CRC]" in r.stderr


def test_timeline_keeps_slots():
    from refcodec.recovery import timeline

    t = timeline([0, 2, 3], [[1, 1]], 0)
    assert t.source == [0, 0, 1, 2] and t.repeated == [1]
    t = timeline([2, 3], [[0, 1], [4, 4]], 5)  # leading lost frames show the first decoded one, trailing the last
    assert t.source == [0, 0, 0, 1, 1] and t.repeated == [0, 1, 4]
    t = timeline([0, 1 << 26], [[1, (1 << 26) - 1]], 0)  # a huge jump is not filled
    assert not t.filled and t.source == [0, 1]


# ---- item 6: odd sizes in MP4 -------------------------------------------------------------------------------

def test_odd_size_mp4_says_what_it_stores(tmp_path):
    img = tmp_path / "i.png"
    Image.fromarray(picture(23, 25)).save(img)
    s = tmp_path / "a.mcuc"
    run("encode", img, "-o", s)
    r = run("decode", s, "-o", tmp_path / "a.mp4", "--json")
    rep = json.loads(r.stdout)
    assert (rep["width"], rep["height"], rep["stored_width"], rep["stored_height"]) == (25, 23, 26, 24)
    assert "stores 26x24" in r.stderr
    fr = next(open_media(tmp_path / "a.mp4").frames)
    assert fr.shape == (24, 26, 3)
    r = run("decode", s, "-o", tmp_path / "a.y4m", "--json")
    assert json.loads(r.stdout)["stored_width"] == 25 and "stores" not in r.stderr


# ---- item 8: folder names and stills ------------------------------------------------------------------------

def test_folder_of_stills_has_no_frame_rate_and_names_can_come_back(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    names = ["b_first.png", "c_second.jpg", "d_third.png"]
    for i, name in enumerate(names):
        Image.fromarray(picture(seed=i)).save(src / name, quality=95)
    s = tmp_path / "s.mcuc"
    rep = json.loads(run("encode", src, "-o", s, "--json").stdout)
    assert rep["fps"] is None and rep["files"] == names
    assert json.loads(run("info", s, "--json").stdout)["fps"] is None
    assert run("decode", s, "-o", tmp_path / "out", "--names", src).exit_code == 0
    assert entries(tmp_path / "out") == ["b_first.png", "c_second.png", "d_third.png"]
    (tmp_path / "names.txt").write_text("x\ny.png\nz\n")
    assert run("decode", s, "-o", tmp_path / "out2", "--names", tmp_path / "names.txt").exit_code == 0
    assert entries(tmp_path / "out2") == ["x.png", "y.png", "z.png"]
    (tmp_path / "two.txt").write_text("x\ny\n")
    fails(2, "decode", s, "-o", tmp_path / "out3", "--names", tmp_path / "two.txt", match="2 names for 3 frames")
    (tmp_path / "dup.txt").write_text("x\nx.png\ny\n")
    fails(2, "decode", s, "-o", tmp_path / "out3", "--names", tmp_path / "dup.txt", match="'x.png'")
    assert not (tmp_path / "out3").exists()
    rep = json.loads(run("encode", src, "-o", tmp_path / "f.mcuc", "--fps", "10", "--json").stdout)
    assert rep["fps"] == [10, 1]


# ---- item 9: conveniences -----------------------------------------------------------------------------------

def test_stdin_and_stdout(tmp_path, png):
    s = run("encode", "-", "-o", "-", input=png.read_bytes())
    assert s.exit_code == 0 and s.stdout_bytes[:4] == b"MCUC"
    ref = tmp_path / "ref.mcuc"
    run("encode", png, "-o", ref)
    assert s.stdout_bytes == ref.read_bytes()
    t = run("truncate", "-", "-o", "-", "--channels", 3, input=s.stdout_bytes)
    assert t.exit_code == 0 and len(t.stdout_bytes) < len(s.stdout_bytes)
    d = run("decode", "-", "-o", "-", input=s.stdout_bytes)
    assert d.exit_code == 0 and d.stdout_bytes.startswith(b"YUV4MPEG2 W45 H30 ")
    e = run("encode", "-", "-o", "-", "--fps", "5", input=d.stdout_bytes)  # Y4M on stdin
    assert e.exit_code == 0 and e.stdout_bytes[:4] == b"MCUC"
    info = run("info", "-", "--json", input=e.stdout_bytes)
    assert json.loads(info.stdout)["fps"] == [5, 1] and json.loads(info.stdout)["width"] == 45
    fails(2, "encode", png, "-o", "-", "--json", match="stdout")


def test_decode_channels_previews_a_level(tmp_path, png):
    s = tmp_path / "a.mcuc"
    run("encode", png, "-o", s)
    t = tmp_path / "t.mcuc"
    run("truncate", s, "-o", t, "--channels", 3)
    run("decode", t, "-o", tmp_path / "t.png")
    r = run("decode", s, "-o", tmp_path / "p.png", "--channels", 3, "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["channels_used"] == 3
    a, b = (np.asarray(Image.open(tmp_path / n)) for n in ("t.png", "p.png"))
    assert np.array_equal(a, b)
    run("decode", s, "-o", tmp_path / "f.png")
    assert not np.array_equal(np.asarray(Image.open(tmp_path / "f.png")), b)


def test_encode_budgets(tmp_path, png):
    big = tmp_path / "big.png"
    Image.fromarray(picture(96, 128)).save(big)
    rep = json.loads(run("encode", big, "-o", tmp_path / "a.mcuc", "--max-bytes", 60, "--json").stdout)
    info = json.loads(run("info", tmp_path / "a.mcuc", "--json").stdout)
    assert all(f["bytes"] <= 60 for f in info["frames"]) and rep["bytes"] == (tmp_path / "a.mcuc").stat().st_size
    rep = json.loads(run("encode", big, "-o", tmp_path / "b.mcuc", "--bpp", 0.1, "--json").stdout)
    assert (tmp_path / "b.mcuc").stat().st_size <= 0.1 * 96 * 128 / 8 and rep["bpp"] <= 0.1
    r = run("encode", big, "-o", tmp_path / "c.mcuc", "--max-bytes", 8, "--json")
    assert r.exit_code == 0 and "1 of 1 frames keep no channel" in r.stderr
    fails(2, "encode", big, "-o", tmp_path / "d.mcuc", "--bpp", 0.001, match="--bpp")
    fails(2, "encode", big, "-o", tmp_path / "d.mcuc", "--bpp", 1, "--max-bytes", 100, match="not both")


def test_frame_bytes_warns_about_empty_frames(tmp_path, png):
    s = tmp_path / "a.mcuc"
    run("encode", png, "-o", s)
    r = run("truncate", s, "-o", tmp_path / "t.mcuc", "--frame-bytes", 9, "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["empty_frames"] == 1
    assert "1 of 1 frames keep no channel within 9 bytes" in r.stderr


def test_progress_lines_when_not_a_terminal(capsys):
    from refcodec.cli.stream_common import Progress

    now = [0.0]
    p = Progress(10, "decoding", clock=lambda: now[0], interval=5.0, tty=False)
    for _ in range(10):
        now[0] += 2.0
        p(1)
    p.close()
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == ["decoding: 3/10 frames", "decoding: 6/10 frames", "decoding: 9/10 frames",
                     "decoding: 10/10 frames"]
    q = Progress(10, "x", clock=lambda: 0.0, tty=False)
    q(10)
    q.close()
    assert capsys.readouterr().err == ""  # a short job prints nothing


def test_mp4_quality_setting(tmp_path):
    import refcodec.media.writer as writer

    frames = [np.clip(picture(96, 128, i).astype(float) / 255 + 0.02 * i, 0, 1) for i in range(6)]
    sizes = {}
    for crf in (10, writer.DEFAULT_CRF, 30):
        p = tmp_path / f"c{crf}.mp4"
        assert writer.write_frames(p, frames, (25, 1), crf=crf) == 6
        sizes[crf] = p.stat().st_size
        assert len(list(open_media(p).frames)) == 6
    assert sizes[10] > sizes[writer.DEFAULT_CRF] > sizes[30]


def test_spec_chunk_crc_figures_come_from_the_bench_result():
    """SPEC §8.3's per-chunk CRC figures are those of bench/results/chunk_crc.json (python bench/bench_chunk_crc.py)."""
    res = json.loads((REPO / "bench" / "results" / "chunk_crc.json").read_text())
    rows = {r["k"]: r for r in res["rows"]}
    spec = (REPO / "bitstream_spec" / "SPEC.md").read_text()
    sec = spec[spec.index("**Why a damaged packet is dropped whole.**"):spec.index("### 8.4")]
    for text in (f"{rows[12]['packet_bytes']:,}", f"{rows[12]['stream_bytes']:,}",
                 f"({rows[12]['crc32_pct_of_stream']} %", f"{rows[1]['crc32_pct_of_stream']} % at k = 1",
                 f"({rows[12]['crc16_pct_of_stream']} %", f"{rows[1]['crc16_pct_of_stream']} % at k = 1"):
        assert text in sec, text
