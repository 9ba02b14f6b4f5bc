"""Memory plan of layer-by-layer execution on an MCU (what `refcodec plan` prints).

Each layer reads its int8 input tensor and writes its int8 output tensor; both must be alive at once, earlier
tensors can be freed. So the activation arena peak is max over layers of (input bytes + output bytes). At
224x224 that is 150,528 + 200,704 = 351,232 bytes (343 KiB) for conv1, the paper's "about 344 KB".
The im2col scratch buffer of CMSIS-NN's arm_convolve_s8 (non-MVE build:
arm_convolve_s8_get_buffer_size = 2 * C_in * KH * KW * sizeof(int16_t)) is listed separately; weights live in
flash and are not part of the arena.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from refcodec.model.topology import ENCODER_LAYERS, layer_geometry


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
    scratch_bytes: int  # CMSIS-NN arm_convolve_s8 im2col buffer (non-MVE)


@dataclass(frozen=True)
class MemoryPlan:
    width: int
    height: int
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
        return max(l.arena_bytes + l.scratch_bytes for l in self.layers)

    def to_json(self) -> dict:
        d = asdict(self)
        d["peak_arena_bytes"] = self.peak_arena_bytes
        d["peak_layer"] = self.peak_layer
        d["peak_with_scratch_bytes"] = self.peak_with_scratch_bytes
        return d


def memory_plan(height: int, width: int) -> MemoryPlan:
    geos = layer_geometry(height, width)
    tensors = [TensorPlan("input", (1, height, width, 3), height * width * 3)]
    layers = []
    for geo, name in zip(geos, ("conv1", "conv2", "latent")):
        oh, ow, oc = geo.out_shape
        tensors.append(TensorPlan(name, (1, oh, ow, oc), oh * ow * oc))
        layers.append(LayerPlan(geo.name, tensors[-2].name, name, geo.pad_top, geo.pad_left, geo.pad_bottom,
                                geo.pad_right, geo.stride, geo.kernel, tensors[-2].bytes + tensors[-1].bytes,
                                2 * geo.in_shape[2] * geo.kernel * geo.kernel * 2))
    weight_bytes = sum(s.out_channels * (s.kernel * s.kernel * s.in_channels + 4 * 3) for s in ENCODER_LAYERS)
    return MemoryPlan(width, height, tensors, layers, weight_bytes)
