"""Memory plans of the encoder on an MCU (what `refcodec plan` prints): layer by layer, and line-buffered.

Both describe the PADDED frame (spec §3.1: W' = 8 * ceil(W / 8), H' likewise), which is what an encoder runs on;
at 642x362 the padded frame is 648x368.

**Layer by layer** (`memory_plan`, TFLM-style): each layer reads its whole int8 input tensor and writes its whole
int8 output tensor; both are alive at once, earlier tensors can be freed, so the activation arena peak is the max
over layers of (input bytes + output bytes). At 224x224 that is 150,528 + 200,704 = 351,232 bytes (343 KiB) for
conv1, the paper's "about 344 KB". The im2col scratch of CMSIS-NN's `arm_convolve_wrapper_s8` is listed
separately and depends on the kernel build (`arm_convolve_wrapper_s8_get_buffer_size`, none of the three layers is
1x1 or 1xN, so it is `arm_convolve_s8`'s buffer):
  * DSP and pure-C builds: `2 * align4(KH * KW * C_in) * sizeof(int16_t)` (two int16 im2col columns, padded to a
    multiple of 4 taps): conv1 592 B, conv2 1,600 B, conv3 576 B;
  * MVE build (ARM_MATH_MVEI, Cortex-M55): `4 * 16 * ceil(KH * KW * C_in / 16)` bytes (four int8 columns in whole
    16-byte vectors): conv1 640 B, conv2 1,600 B, conv3 576 B.
Weights live in flash and are not part of the arena.

**Line-buffered** (`line_plan`, the schedule of firmware/'s library): ring buffers of the last rows each
convolution reads, one latent row, the frame's packed symbols and the library's im2col scratch. Its `arena_bytes`
is exactly the C library's `rc_plan(W, H, K)` (firmware/src/rc_encoder.h); tests/test_firmware_library.py compares
them over many sizes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from refcodec.errors import InvalidArgumentError
from refcodec.model.topology import DOWNSAMPLING, ENCODER_LAYERS, LATENT_CHANNELS, layer_geometry

MAX_SIZE = 65535
"""Width and height are u16 fields of the stream header (spec §7.1)."""


def padded_size(height: int, width: int) -> tuple[int, int]:
    """(H', W'): the frame padded to multiples of 8 (spec §3.1)."""
    if not (1 <= height <= MAX_SIZE and 1 <= width <= MAX_SIZE):
        raise InvalidArgumentError(f"frame size {width}x{height} outside 1..{MAX_SIZE}")
    return -(-height // DOWNSAMPLING) * DOWNSAMPLING, -(-width // DOWNSAMPLING) * DOWNSAMPLING


def _align4(n: int) -> int:
    return (n + 3) // 4 * 4


def cmsis_nn_scratch_bytes(kernel: int, in_channels: int, build: str = "dsp") -> int:
    """Bytes that CMSIS-NN's arm_convolve_wrapper_s8_get_buffer_size returns for a square non-1x1 kernel (that is,
    arm_convolve_s8's im2col buffer). build "dsp" or "c" (non-MVE builds: two int16 columns of the taps rounded up
    to a multiple of 4) or "mve" (four int8 columns rounded up to whole 16-byte vectors)."""
    taps = kernel * kernel * in_channels
    if build in ("dsp", "c"):
        return 2 * _align4(taps) * 2
    if build == "mve":
        return 4 * (-(-taps // 16)) * 16
    raise InvalidArgumentError(f'CMSIS-NN build "{build}", expected dsp, c or mve')


@dataclass(frozen=True)
class TensorPlan:
    name: str
    shape: tuple[int, int, int, int]  # NHWC
    bytes: int


@dataclass(frozen=True)
class LayerPlan:
    name: str
    input: str
    output: str
    pad_top: int
    pad_left: int
    pad_bottom: int
    pad_right: int
    stride: int
    kernel: int
    arena_bytes: int  # input + output alive during this layer
    scratch_bytes: int  # CMSIS-NN arm_convolve_wrapper_s8 im2col buffer, DSP / pure-C build
    scratch_bytes_mve: int  # the same, MVE build (Cortex-M55)


@dataclass(frozen=True)
class MemoryPlan:
    width: int  # source size
    height: int
    padded_width: int  # the frame the encoder runs on (spec §3.1)
    padded_height: int
    tensors: list[TensorPlan]
    layers: list[LayerPlan]
    weight_bytes: int  # int8 weights + int32 biases + per-channel int32 multipliers and shifts

    @property
    def peak_arena_bytes(self) -> int:
        return max(l.arena_bytes for l in self.layers)

    @property
    def peak_layer(self) -> str:
        return max(self.layers, key=lambda l: l.arena_bytes).name

    @property
    def peak_with_scratch_bytes(self) -> int:
        """Peak arena + the im2col scratch of the DSP / pure-C CMSIS-NN build."""
        return max(l.arena_bytes + l.scratch_bytes for l in self.layers)

    @property
    def peak_with_scratch_bytes_mve(self) -> int:
        """Peak arena + the im2col scratch of the MVE CMSIS-NN build."""
        return max(l.arena_bytes + l.scratch_bytes_mve for l in self.layers)

    def to_json(self) -> dict:
        d = asdict(self)
        d["peak_arena_bytes"] = self.peak_arena_bytes
        d["peak_layer"] = self.peak_layer
        d["peak_with_scratch_bytes"] = self.peak_with_scratch_bytes
        d["peak_with_scratch_bytes_mve"] = self.peak_with_scratch_bytes_mve
        d["scratch_kernel_build"] = {"scratch_bytes": "CMSIS-NN DSP or pure C (non-MVE)",
                                     "scratch_bytes_mve": "CMSIS-NN MVE (ARM_MATH_MVEI)"}
        return d


def memory_plan(height: int, width: int) -> MemoryPlan:
    """Layer-by-layer plan of a height x width source frame (run on its padded size, spec §3.1)."""
    ph, pw = padded_size(height, width)
    geos = layer_geometry(ph, pw)
    tensors = [TensorPlan("input", (1, ph, pw, 3), ph * pw * 3)]
    layers = []
    for geo, name in zip(geos, ("conv1", "conv2", "latent")):
        oh, ow, oc = geo.out_shape
        tensors.append(TensorPlan(name, (1, oh, ow, oc), oh * ow * oc))
        cin = geo.in_shape[2]
        layers.append(LayerPlan(geo.name, tensors[-2].name, name, geo.pad_top, geo.pad_left, geo.pad_bottom,
                                geo.pad_right, geo.stride, geo.kernel, tensors[-2].bytes + tensors[-1].bytes,
                                cmsis_nn_scratch_bytes(geo.kernel, cin, "dsp"),
                                cmsis_nn_scratch_bytes(geo.kernel, cin, "mve")))
    weight_bytes = sum(s.out_channels * (s.kernel * s.kernel * s.in_channels + 4 * 3) for s in ENCODER_LAYERS)
    return MemoryPlan(width, height, pw, ph, tensors, layers, weight_bytes)


@dataclass(frozen=True)
class LinePlan:
    """The line-buffered schedule's arena (firmware/src/rc_encoder.h `rc_plan`), term by term."""

    width: int
    height: int
    padded_width: int
    padded_height: int
    channels: int  # most channels a packet may send (rc_plan's max_channels)
    bits: int  # latent symbol bits b
    scratch_bytes: int  # im2col of the library's kernel: 2 int16 columns of the largest layer, taps rounded to 4
    ring_bytes: dict  # layer -> kernel_h rows of its input: kernel_h * in_w * in_c
    latent_row_bytes: int  # one latent row, (W'/8) * C int8 (quantized in place to symbols)
    symbol_bytes: int  # the frame's symbols of `channels` channels at b bits, rounded up to 4 bytes
    arena_bytes: int

    @property
    def arena_bytes_inter(self) -> int:
        """`rc_plan_inter`: inter streams (spec §6.7) also keep the previous frame's symbols, a second
        symbol_bytes."""
        return self.arena_bytes + self.symbol_bytes

    def to_json(self) -> dict:
        return dict(asdict(self), arena_bytes_inter=self.arena_bytes_inter)


def line_plan(height: int, width: int, channels: int = LATENT_CHANNELS, bits: int = 4) -> LinePlan:
    """Arena of the line-buffered encoder for height x width source frames: the same figure as C `rc_plan`.

    Each layer l keeps the last kernel_h(l) rows of its input in a ring: an output row needs input rows
    oy * stride - pad_top .. + kernel_h - 1 and is computed as soon as the last of them arrives. The packed
    symbols hold the whole frame because a packet's chunks are per channel (spec §6), each over the whole plane.
    """
    if not 0 <= channels <= LATENT_CHANNELS:
        raise InvalidArgumentError(f"channels {channels} outside [0, {LATENT_CHANNELS}]")
    if not 1 <= bits <= 8:
        raise InvalidArgumentError(f"bits {bits} outside [1, 8]")
    ph, pw = padded_size(height, width)
    in_w = pw
    rings = {}
    scratch = 0
    for s in ENCODER_LAYERS:
        rings[s.name] = _align4(s.kernel * in_w * s.in_channels)
        scratch = max(scratch, cmsis_nn_scratch_bytes(s.kernel, s.in_channels, "dsp"))  # the same layout
        in_w = -(-in_w // s.stride)
    latent_row = _align4(in_w * LATENT_CHANNELS)
    n = (ph // DOWNSAMPLING) * (pw // DOWNSAMPLING)
    if channels * n * bits >= 1 << 32:
        raise InvalidArgumentError(f"{channels} channels of {n} symbols at {bits} bits exceed 2^32 bits (the "
                                   "library's bit positions are 32-bit)")
    symbols = _align4(-(-channels * n * bits // 8))
    total = scratch + sum(rings.values()) + latent_row + symbols
    return LinePlan(width, height, pw, ph, channels, bits, scratch, rings, latent_row, symbols, total)
