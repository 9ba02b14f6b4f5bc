"""The refcodec model file: a versioned, code-free `.npz` (spec §4.1 "Model file").

Layout: a zip of `.npy` arrays (loaded with `allow_pickle=False`, so loading never executes code):

| array                    | dtype   | shape          | content                                         |
|--------------------------|---------|----------------|-------------------------------------------------|
| `header`                 | uint8   | [n]            | UTF-8 JSON: format, version, rounding, quantization, topology |
| `<layer>.weights`        | int8    | [O, KH, KW, I] | OHWI, symmetric per output channel               |
| `<layer>.bias`           | int32   | [O]            | scale input_scale * weight_scales[o], zero point 0 |
| `<layer>.weight_scales`  | float32 | [O]            |                                                  |
| `<layer>.multiplier`     | int32   | [O]            | derived: QuantizeMultiplier(s_in * s_w / s_out)  |
| `<layer>.shift`          | int32   | [O]            | derived, TFLite convention (positive = left)     |
| `lq.lo`, `lq.mult`       | int32   | [C]            | latent quantizer (refcodec.model.latent_quantizer) |
| `lq.recon`               | float32 | [C, 2^bits]    | decoder-side reconstruction points               |
| `entropy.code_lengths`   | uint8   | [C, 2^bits]    | optional: canonical Huffman code lengths         |
| `entropy.context_code_lengths` | uint8 | [C, NCTX, 2^bits] | optional (with code_lengths): context Huffman, spec §6.6 |
| `entropy.inter_freqs` | uint16 | [3 * 2^bits, 2^bits] | optional (with context tables): inter range coder, spec §6.7 |

Activation scales and zero points are in the JSON header (`input`, `layers[i].output_scale`,
`layers[i].output_zero_point`), as float32 values written exactly. The derived multipliers, shifts and
activation bounds are stored for firmware convenience and checked against a recomputation on load.

The model id is the SHA-256 of the canonical content: the header JSON without `meta` (sorted keys, no spaces),
then for every array in name order its name, dtype, shape and little-endian bytes. The header's
`entropy.context_tables` key and the context array exist only in a model that has context tables, so the id
of a model without them is what it was before context coding existed; likewise `entropy.inter_tables` and
`entropy.inter_freqs` (spec 2.2) exist only in a model with inter tables.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from refcodec.bitstream.format import MAX_CODE_LENGTH
from refcodec.entropy.context import context_params
from refcodec.entropy.inter import inter_nctx
from refcodec.entropy.model_tables import EntropyTables  # noqa: F401 - part of the model file's API
from refcodec.errors import InvalidArgumentError, ModelFileError
from refcodec.io_utils import atomic_write
from refcodec.kernels.params import ConvParams, PerChannelQuantParams, check_rounding
from refcodec.model.latent_quantizer import LQ_SHIFT, LatentQuantizer
from refcodec.model.topology import ENCODER_LAYERS, layer_geometry

FORMAT_NAME = "refcodec-model"
FORMAT_VERSION = 1
MAX_MODEL_FILE_BYTES = 64 << 20
INPUT_SCALE = float(np.float32(1.0 / 255.0))
INPUT_ZERO_POINT = -128
"""Input conversion: int8 = pixel - 128, i.e. real value pixel / 255 with scale 1/255 and zero point -128."""


def _f32(x: float) -> float:
    return float(np.float32(x))


@dataclass(frozen=True, eq=False)
class ConvLayer:
    """One quantized conv layer. weights int8 OHWI; bias int32 [O]; weight_scales float32 [O];
    multiplier/shift int32 [O] (derived); act_min/act_max int8 clamp bounds (derived)."""

    name: str
    weights: np.ndarray
    bias: np.ndarray
    weight_scales: np.ndarray
    output_scale: float
    output_zero_point: int
    stride: int
    activation: str
    multiplier: np.ndarray
    shift: np.ndarray
    act_min: int
    act_max: int

    @property
    def kernel(self) -> int:
        return int(self.weights.shape[1])

    def quant_params(self) -> PerChannelQuantParams:
        return PerChannelQuantParams(self.multiplier, self.shift)


def make_layer(name: str, weights: np.ndarray, bias: np.ndarray, weight_scales: np.ndarray, input_scale: float,
               output_scale: float, output_zero_point: int, stride: int, activation: str) -> ConvLayer:
    """Build a ConvLayer, deriving multipliers, shifts and activation bounds as TFLM does."""
    from refcodec.kernels.activation import activation_bounds
    from refcodec.kernels.conv2d_s8 import check_accumulator_bound
    from refcodec.kernels.quantize_multiplier import per_channel_multipliers

    weights = np.ascontiguousarray(weights)
    bias = np.ascontiguousarray(bias)
    weight_scales = np.ascontiguousarray(weight_scales)
    if weights.dtype != np.int8 or weights.ndim != 4:
        raise InvalidArgumentError(f"{name}: weights must be 4-D int8 OHWI, got {weights.dtype}{weights.shape}")
    if bias.dtype != np.int32 or bias.shape != (weights.shape[0],):
        raise InvalidArgumentError(f"{name}: bias must be int32 [{weights.shape[0]}], got {bias.dtype}{bias.shape}")
    if weight_scales.dtype != np.float32 or weight_scales.shape != (weights.shape[0],):
        raise InvalidArgumentError(
            f"{name}: weight_scales must be float32 [{weights.shape[0]}], got {weight_scales.dtype}{weight_scales.shape}")
    if not (np.all(np.isfinite(weight_scales)) and np.all(weight_scales > 0)):
        raise InvalidArgumentError(f"{name}: weight scales must be finite and > 0, got {weight_scales.tolist()}")
    if np.any(weights == -128):
        raise InvalidArgumentError(f"{name}: symmetric int8 weights must lie in [-127, 127], found -128")
    if not (np.isfinite(output_scale) and output_scale > 0):
        raise InvalidArgumentError(f"{name}: output scale {output_scale} must be finite and > 0")
    if not -128 <= int(output_zero_point) <= 127:
        raise InvalidArgumentError(f"{name}: output zero point {output_zero_point} outside [-128, 127]")
    check_accumulator_bound(weights, bias)  # spec §4.3: a model whose accumulator may overflow is invalid
    mult, shift = per_channel_multipliers(_f32(input_scale), weight_scales, _f32(output_scale))
    act_min, act_max = activation_bounds(activation, _f32(output_scale), int(output_zero_point))
    return ConvLayer(name, weights, bias, weight_scales, _f32(output_scale), int(output_zero_point), int(stride),
                     activation, np.asarray(mult, np.int32), np.asarray(shift, np.int32), int(act_min), int(act_max))


@dataclass(frozen=True, eq=False)
class EncoderModel:
    """The INT8 encoder plus everything a stream's parser needs (latent quantizer, entropy tables)."""

    layers: tuple[ConvLayer, ...]
    rounding: str
    latent_quantizer: LatentQuantizer
    entropy: EntropyTables | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    input_scale: float = INPUT_SCALE
    input_zero_point: int = INPUT_ZERO_POINT

    def __post_init__(self) -> None:
        check_rounding(self.rounding)
        _check_topology(self.layers)
        lq = self.latent_quantizer
        if lq.channels != self.layers[-1].weights.shape[0]:
            raise InvalidArgumentError(
                f"latent quantizer has {lq.channels} channels, the encoder outputs {self.layers[-1].weights.shape[0]}")
        if self.entropy is not None and self.entropy.code_lengths.shape != (lq.channels, lq.levels):
            raise InvalidArgumentError(
                f"entropy tables shape {self.entropy.code_lengths.shape} != {(lq.channels, lq.levels)}")

    @property
    def has_context_tables(self) -> bool:
        return self.entropy is not None and self.entropy.context_lengths is not None

    @property
    def has_inter_tables(self) -> bool:
        return self.entropy is not None and self.entropy.inter_freqs is not None

    @property
    def latent_scale(self) -> float:
        return self.layers[-1].output_scale

    @property
    def latent_zero_point(self) -> int:
        return self.layers[-1].output_zero_point

    @property
    def channels(self) -> int:
        return self.latent_quantizer.channels

    def layer_input_quant(self, index: int) -> tuple[float, int]:
        """(scale, zero point) of the input of layer `index`."""
        if index == 0:
            return self.input_scale, self.input_zero_point
        prev = self.layers[index - 1]
        return prev.output_scale, prev.output_zero_point

    def conv_params(self, height: int, width: int) -> list[ConvParams]:
        """The CMSIS-NN conv params of every layer for an input of height x width."""
        out = []
        for i, (layer, geo) in enumerate(zip(self.layers, layer_geometry(height, width))):
            _, in_zp = self.layer_input_quant(i)
            out.append(ConvParams(-in_zp, layer.output_zero_point, layer.stride, layer.stride, geo.pad_top,
                                  geo.pad_left, geo.pad_bottom, geo.pad_right, layer.act_min, layer.act_max))
        return out

    def with_rounding(self, rounding: str) -> "EncoderModel":
        return EncoderModel(self.layers, rounding, self.latent_quantizer, self.entropy, dict(self.meta),
                            self.input_scale, self.input_zero_point)

    def with_entropy(self, entropy: EntropyTables | None) -> "EncoderModel":
        return EncoderModel(self.layers, self.rounding, self.latent_quantizer, entropy, dict(self.meta),
                            self.input_scale, self.input_zero_point)

    # --- serialisation -------------------------------------------------------------------------------
    def header(self) -> dict[str, Any]:
        lq = self.latent_quantizer
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "rounding": self.rounding,
            "input": {"scale": _f32(self.input_scale), "zero_point": int(self.input_zero_point),
                      "conversion": "int8 = pixel - 128"},
            "layers": [
                {"name": l.name, "in_channels": int(l.weights.shape[3]), "out_channels": int(l.weights.shape[0]),
                 "kernel": l.kernel, "stride": l.stride, "padding": "tflite-same", "activation": l.activation,
                 "output_scale": l.output_scale, "output_zero_point": l.output_zero_point,
                 "act_min": l.act_min, "act_max": l.act_max}
                for l in self.layers
            ],
            "latent_quantizer": {"bits": int(lq.bits), "shift": LQ_SHIFT, "channels": lq.channels},
            "entropy": {"tables": self.entropy is not None, "max_code_length": MAX_CODE_LENGTH,
                        **({"context_tables": True} if self.has_context_tables else {}),
                        **({"inter_tables": True} if self.has_inter_tables else {})},
            "meta": self.meta,
        }

    def arrays(self) -> dict[str, np.ndarray]:
        arrays: dict[str, np.ndarray] = {}
        for l in self.layers:
            arrays[f"{l.name}.weights"] = l.weights
            arrays[f"{l.name}.bias"] = l.bias
            arrays[f"{l.name}.weight_scales"] = l.weight_scales
            arrays[f"{l.name}.multiplier"] = l.multiplier
            arrays[f"{l.name}.shift"] = l.shift
        lq = self.latent_quantizer
        arrays["lq.lo"], arrays["lq.mult"], arrays["lq.recon"] = lq.lo, lq.mult, lq.recon
        if self.entropy is not None:
            arrays["entropy.code_lengths"] = self.entropy.code_lengths
            if self.entropy.context_lengths is not None:
                arrays["entropy.context_code_lengths"] = self.entropy.context_lengths
            if self.entropy.inter_freqs is not None:
                arrays["entropy.inter_freqs"] = self.entropy.inter_freqs
        return arrays

    @cached_property
    def model_id(self) -> str:
        """Hex SHA-256 of the canonical content (header without `meta`, then the arrays)."""
        return _content_hash(self.header(), self.arrays())

    @property
    def model_id_bytes(self) -> bytes:
        return bytes.fromhex(self.model_id)


def _canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False).encode("utf-8")


def _content_hash(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    h.update(_canonical_json({k: v for k, v in header.items() if k != "meta"}))
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        le = a.astype(a.dtype.newbyteorder("<"), copy=False)
        h.update(_canonical_json([name, le.dtype.str, list(a.shape)]))
        h.update(le.tobytes())
    return h.hexdigest()


def _check_topology(layers: tuple[ConvLayer, ...]) -> None:
    if len(layers) != len(ENCODER_LAYERS):
        raise InvalidArgumentError(f"encoder must have {len(ENCODER_LAYERS)} layers, got {len(layers)}")
    for layer, spec in zip(layers, ENCODER_LAYERS):
        want = (spec.out_channels, spec.kernel, spec.kernel, spec.in_channels)
        if layer.name != spec.name or tuple(layer.weights.shape) != want:
            raise InvalidArgumentError(
                f"layer {layer.name} weights {tuple(layer.weights.shape)} do not match {spec.name} OHWI {want}")
        if layer.stride != spec.stride or layer.activation != spec.activation:
            raise InvalidArgumentError(
                f"layer {layer.name} stride/activation {layer.stride}/{layer.activation} != "
                f"{spec.stride}/{spec.activation}")


def save_model(model: EncoderModel, path: str | os.PathLike) -> Path:
    """Write the model file atomically (temp file in the same folder, then rename)."""
    path = Path(path)
    buf = io.BytesIO()
    arrays = dict(model.arrays())
    header = model.header()
    header["model_id"] = model.model_id
    arrays["header"] = np.frombuffer(json.dumps(header, indent=1, sort_keys=True).encode("utf-8"), dtype=np.uint8)
    np.savez_compressed(buf, **arrays)
    atomic_write(path, buf.getvalue())
    return path


MAX_HEADER_BYTES = 1 << 20
"""Largest JSON header accepted (the bundled model's is 1.6 KB)."""
NPY_HEADER_ALLOWANCE = 1 << 12
"""Bytes a member may hold beyond its array data: the .npy magic and header (128 bytes as numpy writes it)."""


def _arr(files: dict[str, np.ndarray], name: str, dtype: Any, path: Path) -> np.ndarray:
    if name not in files:
        raise ModelFileError(f"model file {path}: missing array '{name}'")
    a = files[name]
    if a.dtype != np.dtype(dtype):
        raise ModelFileError(f"model file {path}: array '{name}' has dtype {a.dtype}, expected {np.dtype(dtype)}")
    return a


def expected_arrays(header: dict[str, Any]) -> dict[str, tuple[str, tuple[int, ...]]]:
    """name -> (dtype, shape) of every array a model file with this JSON header must hold (spec §4.1), the
    header array itself excluded. Raises ModelFileError on a header that does not fix them."""
    try:
        bits = int(header["latent_quantizer"]["bits"])
        tables = header["entropy"]["tables"]
        ctx = header["entropy"].get("context_tables", False)
        inter = header["entropy"].get("inter_tables", False)
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFileError(f"malformed header ({type(e).__name__}: {e})") from None
    if not 1 <= bits <= 8:
        raise ModelFileError(f"latent quantizer bits {bits} outside [1, 8]")
    if tables not in (True, False) or ctx not in (True, False) or (ctx and not tables):
        raise ModelFileError(f"entropy.tables {tables!r} / entropy.context_tables {ctx!r} must be booleans "
                             "(context tables only with tables)")
    if inter not in (True, False) or (inter and not ctx):
        raise ModelFileError(f"entropy.inter_tables {inter!r} must be a boolean (inter tables only with context "
                             "tables)")
    C = ENCODER_LAYERS[-1].out_channels
    out: dict[str, tuple[str, tuple[int, ...]]] = {}
    for spec in ENCODER_LAYERS:
        O = spec.out_channels
        out[f"{spec.name}.weights"] = ("|i1", (O, spec.kernel, spec.kernel, spec.in_channels))
        for what, dt in (("bias", "<i4"), ("weight_scales", "<f4"), ("multiplier", "<i4"), ("shift", "<i4")):
            out[f"{spec.name}.{what}"] = (dt, (O,))
    out["lq.lo"] = ("<i4", (C,))
    out["lq.mult"] = ("<i4", (C,))
    out["lq.recon"] = ("<f4", (C, 1 << bits))
    if tables:
        out["entropy.code_lengths"] = ("|u1", (C, 1 << bits))
    if ctx:
        out["entropy.context_code_lengths"] = ("|u1", (C, context_params(bits)[2], 1 << bits))
    if inter:
        out["entropy.inter_freqs"] = ("<u2", (inter_nctx(bits), 1 << bits))
    return out


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dtype: str, shape: tuple[int, ...] | None,
                 max_items: int) -> np.ndarray:
    """One .npy member, checked before its data is read: declared size (zip directory), then the .npy
    header's dtype and shape (`shape` None: 1-D of at most max_items)."""
    nbytes = np.dtype(dtype).itemsize * (int(np.prod(shape)) if shape is not None else max_items)
    if info.file_size > nbytes + NPY_HEADER_ALLOWANCE:
        raise ModelFileError(f"member '{info.filename}' declares {info.file_size} bytes, more than its array "
                             f"needs ({nbytes} + {NPY_HEADER_ALLOWANCE})")
    with zf.open(info) as f:
        try:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                got_shape, fortran, got_dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                got_shape, fortran, got_dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f".npy format version {version}")
        except ValueError as e:
            raise ModelFileError(f"member '{info.filename}' is not a valid .npy: {e}") from None
        if got_dtype.hasobject:
            raise ModelFileError(f"array '{info.filename[:-4]}' holds pickled object data, which refcodec never loads")
        if got_dtype.str != np.dtype(dtype).str or fortran:
            raise ModelFileError(f"array '{info.filename[:-4]}' has dtype {got_dtype} ({got_dtype.str})"
                                 f"{' in Fortran order' if fortran else ''}, expected {np.dtype(dtype)} "
                                 f"({np.dtype(dtype).str})")
        ok = (tuple(got_shape) == shape) if shape is not None else (len(got_shape) == 1 and got_shape[0] <= max_items)
        if not ok:
            raise ModelFileError(f"array '{info.filename[:-4]}' has shape {tuple(got_shape)}, expected "
                                 f"{shape if shape is not None else f'[n <= {max_items}]'}")
        count = int(np.prod(got_shape))
        data = f.read(count * got_dtype.itemsize + 1)
    if len(data) != count * got_dtype.itemsize:
        raise ModelFileError(f"array '{info.filename[:-4]}' holds {len(data)} data bytes, its shape needs "
                             f"{count * got_dtype.itemsize}")
    return np.frombuffer(data, dtype=got_dtype).reshape(got_shape).copy()


def read_model_arrays(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(JSON header, arrays) of a model file, every member's declared size, dtype and shape checked against the
    spec §4.1 layout before it is read (a zip member declaring gigabytes is rejected unread); never unpickles."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as e:
        raise ModelFileError(f"cannot read model file {path}: {e.strerror or e}") from None
    if size > MAX_MODEL_FILE_BYTES:
        raise ModelFileError(f"model file {path} is {size} bytes, over the {MAX_MODEL_FILE_BYTES}-byte limit")
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"model file {path} is not a valid .npz (not a zip archive)")
    try:
        with zipfile.ZipFile(path) as zf:
            members = {}
            for info in zf.infolist():
                if not info.filename.endswith(".npy") or info.filename[:-4] in members:
                    raise ModelFileError(f"model file {path}: unexpected member '{info.filename}'")
                members[info.filename[:-4]] = info
            if "header" not in members:
                raise ModelFileError(f"model file {path}: missing array 'header'")
            try:
                raw = _read_member(zf, members["header"], "|u1", None, MAX_HEADER_BYTES)
            except ModelFileError as e:
                raise ModelFileError(f"model file {path}: {e}") from None
            try:
                header = json.loads(raw.tobytes().decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                raise ModelFileError(f"model file {path}: header is not valid JSON ({e})") from None
            _check_format(header, path)
            try:
                layout = expected_arrays(header)
            except ModelFileError as e:
                raise ModelFileError(f"model file {path}: {e}") from None
            extra = sorted(set(members) - set(layout) - {"header"})
            if extra:
                raise ModelFileError(f"model file {path}: unexpected array(s) {extra}")
            arrays = {}
            for name, (dtype, shape) in layout.items():
                if name not in members:
                    raise ModelFileError(f"model file {path}: missing array '{name}'")
                try:
                    arrays[name] = _read_member(zf, members[name], dtype, shape, 0)
                except ModelFileError as e:
                    raise ModelFileError(f"model file {path}: {e}") from None
    except ModelFileError:
        raise
    except (OSError, zipfile.BadZipFile, EOFError, ValueError, NotImplementedError) as e:
        raise ModelFileError(f"model file {path} is not a valid .npz: {str(e).splitlines()[0] if str(e) else e}") from None
    return header, arrays


def _check_format(header: Any, path: Path) -> None:
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise ModelFileError(f"model file {path}: format is {header.get('format') if isinstance(header, dict) else header!r}, expected '{FORMAT_NAME}'")
    if header.get("version") != FORMAT_VERSION:
        raise ModelFileError(f"model file {path}: unsupported version {header.get('version')!r} (this build reads {FORMAT_VERSION})")
    if not isinstance(header.get("model_id"), str):
        raise ModelFileError(f"model file {path}: the header has no model_id (spec §4.1: it is required, and "
                             "checked against the content)")


def _layers_from(header: dict[str, Any], files: dict[str, np.ndarray], path: Path) -> list[ConvLayer]:
    in_scale = float(header["input"]["scale"])
    in_zp = int(header["input"]["zero_point"])
    if (in_scale, in_zp) != (INPUT_SCALE, INPUT_ZERO_POINT):
        raise ModelFileError(f"model file {path}: input quantization {(in_scale, in_zp)} is not pixel - 128")
    layers = []
    scale = in_scale
    for lh in header["layers"]:
        name = str(lh["name"])
        layer = make_layer(name, _arr(files, f"{name}.weights", np.int8, path),
                           _arr(files, f"{name}.bias", np.int32, path),
                           _arr(files, f"{name}.weight_scales", np.float32, path), scale,
                           float(lh["output_scale"]), int(lh["output_zero_point"]), int(lh["stride"]),
                           str(lh["activation"]))
        for what in ("multiplier", "shift"):
            stored = _arr(files, f"{name}.{what}", np.int32, path)
            if not np.array_equal(stored, getattr(layer, what)):
                raise ModelFileError(f"model file {path}: {name}.{what} does not match QuantizeMultiplier of the scales")
        if (int(lh["act_min"]), int(lh["act_max"])) != (layer.act_min, layer.act_max):
            raise ModelFileError(f"model file {path}: {name} activation bounds {(lh['act_min'], lh['act_max'])} "
                                 f"!= derived {(layer.act_min, layer.act_max)}")
        layers.append(layer)
        scale = layer.output_scale
    return layers


def _entropy_from(header: dict[str, Any], files: dict[str, np.ndarray], path: Path) -> EntropyTables | None:
    if not header["entropy"]["tables"]:
        return None
    ctx = None
    if header["entropy"].get("context_tables", False):
        ctx = _arr(files, "entropy.context_code_lengths", np.uint8, path)
    inter = None
    if header["entropy"].get("inter_tables", False):
        inter = _arr(files, "entropy.inter_freqs", np.uint16, path)
    return EntropyTables(_arr(files, "entropy.code_lengths", np.uint8, path), ctx, inter)


def load_model(path: str | os.PathLike) -> EncoderModel:
    """Load and validate a model file (spec §4.1). Raises ModelFileError naming the problem; never executes
    code. The stored model_id is required and must equal the id computed from the content."""
    path = Path(path)
    header, files = read_model_arrays(path)
    try:
        layers = _layers_from(header, files, path)
        lqh = header["latent_quantizer"]
        if int(lqh["shift"]) != LQ_SHIFT:
            raise ModelFileError(f"model file {path}: latent quantizer shift {lqh['shift']} != {LQ_SHIFT}")
        lq = LatentQuantizer(int(lqh["bits"]), _arr(files, "lq.lo", np.int32, path),
                             _arr(files, "lq.mult", np.int32, path), _arr(files, "lq.recon", np.float32, path))
        model = EncoderModel(tuple(layers), str(header["rounding"]), lq, _entropy_from(header, files, path),
                             dict(header.get("meta") or {}))
    except ModelFileError:
        raise
    except InvalidArgumentError as e:
        raise ModelFileError(f"model file {path}: {e}") from None
    except (KeyError, TypeError, ValueError) as e:
        raise ModelFileError(f"model file {path}: malformed header ({type(e).__name__}: {e})") from None
    if header["model_id"] != model.model_id:
        raise ModelFileError(f"model file {path}: content hash {model.model_id[:16]}... != stored id "
                             f"{header['model_id'][:16]}...")
    return model
