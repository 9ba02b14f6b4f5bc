"""refcodec.codec: frames -> stream -> symbols / frames, with the seeded random model (spec §3-§9)."""

from __future__ import annotations


import numpy as np
import pytest
from spec_check import spec_valid

from refcodec.bitstream import StreamHeader, parse_stream
from refcodec.codec import decode_stream, decode_symbols, encode_frames, frame_symbols, truncate_stream
from refcodec.entropy import fit_entropy_tables
from refcodec.errors import BitstreamError, InvalidArgumentError, ModelFileError, ModelMismatchError
from refcodec.media import open_media, resize_frame

from datasets import PHOTO_96x128, TRAIN_FIXTURES, VIDEO, video_clips


@pytest.fixture(scope="module")
def model():
    """Seeded random model with Huffman tables fitted on two other images (never the test data): committed
    fixtures, so no data set is needed."""
    from refcodec.model.random_model import make_random_model

    base = make_random_model(0)
    train = TRAIN_FIXTURES
    syms = [frame_symbols(base, resize_frame(open_media(p).frames.__next__(), (96, 96))) for p in train]
    return base.with_entropy(fit_entropy_tables(syms, int(base.latent_quantizer.bits)))


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(5)
    img = next(open_media(PHOTO_96x128).frames)[:37, :61]  # odd size: padding
    return [img, np.ascontiguousarray(img[::-1]), rng.integers(0, 256, img.shape, dtype=np.uint8)]


class RecordingDecoder:
    """Stands in for the float decoder: records its input latents, returns grey 8h x 8w x 3."""

    def __init__(self):
        self.latents = []

    def decode(self, latent):
        self.latents.append(latent.copy())
        return np.full((8 * latent.shape[0], 8 * latent.shape[1], 3), 0.5, dtype=np.float32)


@pytest.mark.parametrize("entropy", ["huffman", "raw"])
def test_symbols_survive_the_stream(model, frames, entropy):
    data = spec_valid(encode_frames(frames, model, fps=(30000, 1001), entropy=entropy))
    ds = decode_symbols(data, model)
    h = ds.header
    assert (h.width, h.height, h.latent_width, h.latent_height) == (61, 37, 8, 5)
    assert (h.fps_num, h.fps_den, h.frame_count, h.entropy_mode) == (30000, 1001, 3, int(entropy == "huffman"))
    assert ds.frame_indices == [0, 1, 2] and ds.channels_present == [12] * 3
    for f, s in zip(frames, ds.symbols):
        assert np.array_equal(s, frame_symbols(model, f))


def test_header_rule_still_image_is_lean(model, frames):
    """Spec §7.1 reference encoder rule: timing only when a rate is given, frame_count only for more than one
    frame; the header holds the model id's first 8 bytes. A still image's header is 25 bytes."""
    still = encode_frames(frames[:1], model)
    h = StreamHeader.unpack(still)
    assert (h.version, h.size, h.has_timing, h.rate, h.frame_count) == (2, 25, False, (1, 1), 0)
    assert still[4:6] == bytes([2, 0]) and still[25:27] == b"MF" and h.model_id == model.model_id_bytes[:8]
    timed = StreamHeader.unpack(encode_frames(frames[:1], model, fps=(25, 1)))
    assert (timed.size, timed.rate, timed.frame_count) == (33, (25, 1), 0)
    two = StreamHeader.unpack(encode_frames(frames[:2], model))
    assert (two.size, two.has_timing, two.frame_count) == (29, False, 2)


def test_huffman_smaller_than_raw_on_natural_images(model, frames):
    huff = encode_frames(frames[:2], model, entropy="huffman")
    raw = encode_frames(frames[:2], model, entropy="raw")
    modes = [c.mode for p in parse_stream(huff).packets for c in p.chunks]
    assert 1 in modes and len(huff) < len(raw)


def test_fewer_channels_zero_filled_and_cropped(model, frames):
    data = spec_valid(encode_frames(frames[:1], model, channels=3))
    dec = RecordingDecoder()
    out = decode_stream(data, model, decoder=dec)
    assert out.frames[0].shape == (37, 61, 3)
    lat = dec.latents[0]
    assert lat.shape == (5, 8, 12) and lat.dtype == np.float32
    assert np.all(lat[:, :, 3:] == 0.0) and np.any(lat[:, :, :3] != 0.0)
    full = decode_symbols(encode_frames(frames[:1], model), model).symbols[0]
    assert np.array_equal(out.symbols[0][:, :, :3], full[:, :, :3])
    assert np.all(out.symbols[0][:, :, 3:] == 0)


def test_truncated_stream_decodes_like_zero_filled_original(model, frames):
    data = encode_frames(frames, model)
    full = decode_symbols(data, model)
    cut = decode_symbols(spec_valid(truncate_stream(data, channels=4)), model)
    for a, b in zip(full.symbols, cut.symbols):
        expected = a.copy()
        expected[:, :, 4:] = 0
        assert np.array_equal(b, expected)


def test_wrong_model_rejected(model, frames):
    from refcodec.model.random_model import make_random_model

    data = encode_frames(frames[:1], model)
    other = make_random_model(1).with_entropy(model.entropy)
    with pytest.raises(ModelMismatchError, match="model id"):
        decode_symbols(data, other)


def test_bad_arguments(model, frames):
    from refcodec.model.random_model import make_random_model

    with pytest.raises(ModelFileError, match="no entropy tables"):
        encode_frames(frames[:1], make_random_model(0), entropy="huffman")
    with pytest.raises(InvalidArgumentError, match="channels 13"):
        encode_frames(frames[:1], model, channels=13)
    with pytest.raises(InvalidArgumentError, match="frame 1 is"):
        encode_frames([frames[0], frames[0][:8]], model)
    with pytest.raises(InvalidArgumentError, match="no frames"):
        encode_frames([], model)
    with pytest.raises(InvalidArgumentError, match="entropy"):
        encode_frames(frames[:1], model, entropy="zip")


def test_corrupt_chunk_lost_with_keep_going(model, frames):
    data = bytearray(encode_frames(frames, model))
    offs = parse_stream(bytes(data)).packet_offsets
    data[offs[2] - 5] ^= 0x10
    with pytest.raises(BitstreamError):
        decode_symbols(bytes(data), model)
    ds = decode_symbols(bytes(data), model, keep_going=True)
    assert ds.lost == [[1, 1]] and ds.frame_indices == [0, 2]


@pytest.mark.parametrize("clip", video_clips())
def test_video_clips_round_trip_symbols(model, clip):
    """Every dataset clip: 2 frames at native size -> stream -> the encoder's symbols, exactly."""
    src = open_media(VIDEO / clip, max_frames=2)
    frs = list(src.frames)
    data = spec_valid(encode_frames(frs, model, fps=src.fps))
    ds = decode_symbols(data, model)
    assert (ds.header.width, ds.header.height) == (frs[0].shape[1], frs[0].shape[0])
    assert len(ds.symbols) == 2
    for f, s in zip(frs, ds.symbols):
        assert np.array_equal(s, frame_symbols(model, f))


def test_all_zero_code_table_falls_back_to_raw():
    from refcodec.bitstream.format import CHUNK_RAW
    from refcodec.entropy.chunk import decode_channel, encode_channel

    sym = np.arange(20, dtype=np.uint8) % 8
    chunk = encode_channel(sym, 3, np.zeros(8, np.uint8))
    assert chunk.mode == CHUNK_RAW
    assert np.array_equal(decode_channel(chunk, 3, 20, np.zeros(8, np.uint8)), sym)
