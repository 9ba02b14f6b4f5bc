"""`refcodec eval` on video (refcodec/eval/video.py): intra and inter streams of the same frames decode to the same
pictures, the inter stream is smaller on a still scene, and every anchor gets its points."""

from __future__ import annotations

import numpy as np
import pytest

from datasets import PHOTO_224


def test_evaluate_video_on_a_short_still_clip(tmp_path):
    pytest.importorskip("imageio_ffmpeg")
    from refcodec.decoder.pairing import decoder_for
    from refcodec.eval.video import evaluate_video, is_video_input, list_clips
    from refcodec.media import read_image, write_frames
    from refcodec.model.registry import default_model

    model = default_model()
    if not model.has_inter_tables:
        pytest.skip("the bundled model has no inter tables")
    base = read_image(PHOTO_224)[:176, :176]
    moved = base.copy()
    moved[60:80, 60:80] = 255 - moved[60:80, 60:80]
    clip = tmp_path / "clip.y4m"
    write_frames(clip, [base, base, moved], fps=(10, 1))
    assert is_video_input(clip) and list_clips([clip, clip]) == [clip, clip]
    r = evaluate_video(clip, 3, (176, 176), model, decoder_for(model), keyframe_interval=30, qualities=(10, 50),
                       crfs=(28, 40))
    ll = r["lossless"]
    assert ll["decoded_frames_byte_identical"] and ll["inter_bytes"] < 0.8 * ll["intra_bytes"]
    clip_r = r["per_clip"]["clip.y4m"]
    assert clip_r["lossless"]["keyframes"] == [0]
    assert [p["k"] for p in clip_r["inter"]] == list(range(1, 13))
    for a, b in zip(clip_r["intra"], clip_r["inter"]):  # fewer bytes (same pictures: checked by evaluate_video)
        assert b["bytes"] < a["bytes"]
    for anchor in ("mjpeg420", "mjpeg444", "x264_ultrafast_zerolatency", "x264_medium"):
        assert len(clip_r[anchor]) == 2 and all(np.isfinite(p["psnr"]) for p in clip_r[anchor])
    assert set(r["bd_rate"]) >= {"inter_vs_mjpeg420", "intra_vs_x264_medium"}


@pytest.mark.parametrize("fps", [12.5, 10.0, 29.97])
def test_x264_anchor_decodes_one_picture_per_frame_at_any_frame_rate(fps):
    # car-detection.mp4 is 12.5 fps: ffmpeg used to resample the decoded stream to 25 fps (40 pictures for 20)
    pytest.importorskip("imageio_ffmpeg")
    from refcodec.eval.video import x264_points
    from refcodec.media import read_image

    base = read_image(PHOTO_224)[:176, :176]
    frames = [np.roll(base, 3 * i, axis=1) for i in range(6)]
    (row,) = x264_points(frames, fps, (23,), ["-preset", "ultrafast"])
    assert len(row["psnr_per_frame"]) == 6 and min(row["psnr_per_frame"]) > 25


def test_video_summary_says_n_a_where_the_curves_do_not_overlap():
    # a BD-rate is null in the JSON when the quality ranges do not overlap (x264 on a short clip, which it codes
    # far above refcodec's best quality); the summary used to crash on it, so no JSON was written
    from refcodec.eval.video import video_summary_lines

    no_overlap = {"bd_rate_percent": None, "overlap": 0.0}
    result = {"clips": ["a.mp4"], "frames_per_clip": 20, "size": "320x240",
              "lossless": {"intra_bytes": 100, "inter_bytes": 40, "saving_percent": 60.0,
                           "decoded_frames_byte_identical": True},
              "bd_rate": {"inter_vs_x264_medium": {"psnr": no_overlap, "ms_ssim_db": {"bd_rate_percent": -12.34,
                                                                                "overlap": 0.2}}}}
    assert video_summary_lines(result)[-1] == "BD-rate inter_vs_x264_medium: PSNR n/a, MS-SSIM -12.3%"
