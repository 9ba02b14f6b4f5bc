"""Write int8 CONV_2D chains as `.tflite` flatbuffers with the PyPI `tflite` + `flatbuffers` packages.

Model layout (schema.fbs, version 3), one subgraph:
  buffers[0]            empty (TFLite convention), then one buffer per weight and bias tensor
  tensor "input"        int8 [1, H, W, C_in], scale s_in, zero point zp_in
  per layer i:
    "conv{i}/weights"   int8 [C_out, KH, KW, C_in] (OHWI), per-channel: scale s_w[c], zero point 0,
                        quantized_dimension 0
    "conv{i}/bias"      int32 [C_out], scale s_in_i * s_w[c] (float32 product), zero point 0 (optional)
    "conv{i}/output"    int8 [1, OH, OW, C_out], scale s_out_i, zero point zp_out_i; it is the next
                        layer's input (so the next layer's s_in is s_out_i)
  operator CONV_2D (builtin code 3) with Conv2DOptions(padding, stride_w, stride_h, fused activation,
  dilation 1); the subgraph input is "input"; its outputs are every layer's output in order
  (so TFLM keeps all of them readable after Invoke: get_output(i) is layer i).

Padding: TFLite only knows SAME and VALID. TFLM (tensorflow/lite/kernels/padding.h,
ComputePaddingHeightWidth / ComputePaddingWithOffset) computes for SAME
    out = ceil(in / stride);  total = max(0, (out - 1) * stride + k - in)
    pad_before = total // 2 (top/left),  pad_after = total - pad_before (bottom/right gets the extra)
and for VALID out = (in - k + stride) // stride with no padding. `same_padding` returns exactly this.
Explicit paddings that are neither (e.g. asymmetric with more on top) are not written as a PAD op:
callers pad the input tensor with its zero point and use a VALID conv, which TFLM then computes tap
by tap (the padded taps contribute (zp + input_offset) * w = 0, the same as skipping them).
"""

from __future__ import annotations

import math

import flatbuffers
import numpy as np
import tflite

from refcodec.errors import InvalidArgumentError
from refcodec.model.topology import same_padding

_PADDING = {"SAME": tflite.Padding.SAME, "VALID": tflite.Padding.VALID}
_ACTIVATION = {"none": tflite.ActivationFunctionType.NONE, "relu": tflite.ActivationFunctionType.RELU,
               "relu6": tflite.ActivationFunctionType.RELU6}


def _out_size(padding: str, in_size: int, kernel: int, stride: int) -> int:
    if padding == "SAME":
        return same_padding(in_size, kernel, stride)[0]
    return (in_size - kernel + stride) // stride


def _bytes_vector(b: flatbuffers.Builder, data: bytes, alignment: int = 16) -> int:
    b.StartVector(1, len(data), alignment)
    b.head -= len(data)
    b.Bytes[b.head: b.head + len(data)] = data
    b.vectorNumElems = len(data)
    return b.EndVector()


def _int_vector(b: flatbuffers.Builder, values) -> int:
    return b.CreateNumpyVector(np.asarray(values, dtype=np.int32))


def _quant(b, scales, zero_points, dim: int = 0) -> int:
    s = b.CreateNumpyVector(np.asarray(scales, dtype=np.float32))
    z = b.CreateNumpyVector(np.asarray(zero_points, dtype=np.int64))
    tflite.QuantizationParametersStart(b)
    tflite.QuantizationParametersAddScale(b, s)
    tflite.QuantizationParametersAddZeroPoint(b, z)
    tflite.QuantizationParametersAddQuantizedDimension(b, dim)
    return tflite.QuantizationParametersEnd(b)


def _tensor(b, name: str, shape, ttype: int, buffer: int, quant: int) -> int:
    n = b.CreateString(name)
    sh = _int_vector(b, shape)
    tflite.TensorStart(b)
    tflite.TensorAddShape(b, sh)
    tflite.TensorAddType(b, ttype)
    tflite.TensorAddBuffer(b, buffer)
    tflite.TensorAddName(b, n)
    tflite.TensorAddQuantization(b, quant)
    return tflite.TensorEnd(b)


def _check_layer(i: int, layer: dict, c_in: int) -> dict:
    need = ("weights", "weight_scales", "output_scale", "output_zp", "stride", "padding", "activation")
    missing = [k for k in need if k not in layer]
    if missing:
        raise InvalidArgumentError(f"layer {i} misses keys {missing}")
    w = np.asarray(layer["weights"])
    if w.dtype != np.int8 or w.ndim != 4 or w.shape[3] != c_in:
        raise InvalidArgumentError(f"layer {i} weights must be int8 OHWI with C_in={c_in}, got {w.dtype} {w.shape}")
    bias = layer.get("bias")
    if bias is not None:
        bias = np.asarray(bias)
        if bias.dtype != np.int32 or bias.shape != (w.shape[0],):
            raise InvalidArgumentError(f"layer {i} bias must be int32 [{w.shape[0]}], got {bias.dtype} {bias.shape}")
    ws = np.asarray(layer["weight_scales"], dtype=np.float64).reshape(-1)
    if ws.shape != (w.shape[0],) or not np.all(np.isfinite(ws)) or np.any(ws <= 0):
        raise InvalidArgumentError(f"layer {i} weight_scales must be {w.shape[0]} positive values, got {ws}")
    stride = layer["stride"]
    sh, sw = (stride, stride) if np.ndim(stride) == 0 else tuple(stride)
    if int(sh) < 1 or int(sw) < 1:
        raise InvalidArgumentError(f"layer {i} stride {stride} must be >= 1")
    if layer["padding"] not in _PADDING:
        raise InvalidArgumentError(f'layer {i} padding "{layer["padding"]}" must be SAME or VALID')
    if layer["activation"] not in _ACTIVATION:
        raise InvalidArgumentError(f'layer {i} activation "{layer["activation"]}" must be one of {tuple(_ACTIVATION)}')
    zp = int(layer["output_zp"])
    if not -128 <= zp <= 127:
        raise InvalidArgumentError(f"layer {i} output_zp {zp} outside [-128, 127]")
    s_out = float(layer["output_scale"])
    if not math.isfinite(s_out) or s_out <= 0:
        raise InvalidArgumentError(f"layer {i} output_scale {s_out!r} must be positive")
    return dict(weights=w, bias=bias, weight_scales=ws, output_scale=s_out, output_zp=zp,
                stride_h=int(sh), stride_w=int(sw), padding=layer["padding"], activation=layer["activation"])


def chain_model_bytes(input_shape, input_scale: float, input_zp: int, layers: list[dict],
                      description: str = "refcodec.tflite.writer") -> bytes:
    """A .tflite model of CONV_2D layers applied one after another.

    input_shape: (H, W, C_in) or (1, H, W, C_in); input_scale > 0; input_zp in [-128, 127].
    layers: list of dicts, each with
        weights        int8 [C_out, KH, KW, C_in] (OHWI)
        bias           int32 [C_out] or None (optional key)
        weight_scales  [C_out] positive floats (stored as float32)
        output_scale   positive float (float32), output_zp int in [-128, 127]
        stride         int or (stride_h, stride_w)
        padding        "SAME" | "VALID"
        activation     "none" | "relu" | "relu6"
    Layer i's input quantization is layer i-1's output quantization. Returns the flatbuffer bytes;
    subgraph outputs are all layer outputs in order. description: the Model.description string.
    """
    shape = tuple(int(d) for d in input_shape)
    if len(shape) == 4:
        if shape[0] != 1:
            raise InvalidArgumentError(f"input batch must be 1, got shape {shape}")
        shape = shape[1:]
    if len(shape) != 3 or min(shape) < 1:
        raise InvalidArgumentError(f"input_shape must be (H, W, C), got {input_shape}")
    if not -128 <= int(input_zp) <= 127:
        raise InvalidArgumentError(f"input_zp {input_zp} outside [-128, 127]")
    if not layers:
        raise InvalidArgumentError("layers is empty")

    b = flatbuffers.Builder(1024)
    buffers = [None]  # buffer 0 stays empty
    tensors = []  # offsets, built in order
    ops = []  # (inputs, outputs, options offset)

    tensors.append(_tensor(b, "input", (1,) + shape, tflite.TensorType.INT8, 0,
                           _quant(b, [input_scale], [int(input_zp)])))
    cur, (h, w_, c) = 0, shape
    s_in = float(np.float32(input_scale))
    outputs = []
    for i, raw in enumerate(layers):
        L = _check_layer(i, raw, c)
        wt = L["weights"]
        c_out, kh, kw, _ = wt.shape
        oh = _out_size(L["padding"], h, kh, L["stride_h"])
        ow = _out_size(L["padding"], w_, kw, L["stride_w"])
        if oh <= 0 or ow <= 0:
            raise InvalidArgumentError(f"layer {i} output size {oh}x{ow} <= 0 for input {h}x{w_}")
        buffers.append(np.ascontiguousarray(wt).tobytes())
        w_idx = len(tensors)
        tensors.append(_tensor(b, f"conv{i}/weights", wt.shape, tflite.TensorType.INT8, len(buffers) - 1,
                               _quant(b, L["weight_scales"], [0] * c_out, 0)))
        b_idx = -1
        if L["bias"] is not None:
            buffers.append(L["bias"].astype("<i4").tobytes())
            b_idx = len(tensors)
            bias_scales = np.float32(s_in) * L["weight_scales"].astype(np.float32)
            tensors.append(_tensor(b, f"conv{i}/bias", (c_out,), tflite.TensorType.INT32, len(buffers) - 1,
                                   _quant(b, bias_scales, [0] * c_out, 0)))
        o_idx = len(tensors)
        tensors.append(_tensor(b, f"conv{i}/output", (1, oh, ow, c_out), tflite.TensorType.INT8, 0,
                               _quant(b, [L["output_scale"]], [L["output_zp"]])))
        tflite.Conv2DOptionsStart(b)
        tflite.Conv2DOptionsAddPadding(b, _PADDING[L["padding"]])
        tflite.Conv2DOptionsAddStrideW(b, L["stride_w"])
        tflite.Conv2DOptionsAddStrideH(b, L["stride_h"])
        tflite.Conv2DOptionsAddFusedActivationFunction(b, _ACTIVATION[L["activation"]])
        tflite.Conv2DOptionsAddDilationWFactor(b, 1)
        tflite.Conv2DOptionsAddDilationHFactor(b, 1)
        opts = tflite.Conv2DOptionsEnd(b)
        ops.append(([cur, w_idx, b_idx], [o_idx], opts))
        outputs.append(o_idx)
        cur, h, w_, c = o_idx, oh, ow, c_out
        s_in = float(np.float32(L["output_scale"]))

    op_offsets = []
    for ins, outs, opts in ops:
        iv, ov = _int_vector(b, ins), _int_vector(b, outs)
        tflite.OperatorStart(b)
        tflite.OperatorAddOpcodeIndex(b, 0)
        tflite.OperatorAddInputs(b, iv)
        tflite.OperatorAddOutputs(b, ov)
        tflite.OperatorAddBuiltinOptionsType(b, tflite.BuiltinOptions.Conv2DOptions)
        tflite.OperatorAddBuiltinOptions(b, opts)
        op_offsets.append(tflite.OperatorEnd(b))

    def vec_of_offsets(start_fn, items):
        start_fn(b, len(items))
        for off in reversed(items):
            b.PrependUOffsetTRelative(off)
        return b.EndVector()

    t_vec = vec_of_offsets(tflite.SubGraphStartTensorsVector, tensors)
    o_vec = vec_of_offsets(tflite.SubGraphStartOperatorsVector, op_offsets)
    in_vec, out_vec = _int_vector(b, [0]), _int_vector(b, outputs)
    name = b.CreateString("main")
    tflite.SubGraphStart(b)
    tflite.SubGraphAddTensors(b, t_vec)
    tflite.SubGraphAddInputs(b, in_vec)
    tflite.SubGraphAddOutputs(b, out_vec)
    tflite.SubGraphAddOperators(b, o_vec)
    tflite.SubGraphAddName(b, name)
    subgraph = tflite.SubGraphEnd(b)

    tflite.OperatorCodeStart(b)
    tflite.OperatorCodeAddDeprecatedBuiltinCode(b, tflite.BuiltinOperator.CONV_2D)
    tflite.OperatorCodeAddBuiltinCode(b, tflite.BuiltinOperator.CONV_2D)
    tflite.OperatorCodeAddVersion(b, 3)
    opcode = tflite.OperatorCodeEnd(b)

    buf_offsets = []
    for data in buffers:
        d = _bytes_vector(b, data) if data else None
        tflite.BufferStart(b)
        if d is not None:
            tflite.BufferAddData(b, d)
        buf_offsets.append(tflite.BufferEnd(b))

    codes_vec = vec_of_offsets(tflite.ModelStartOperatorCodesVector, [opcode])
    sub_vec = vec_of_offsets(tflite.ModelStartSubgraphsVector, [subgraph])
    buf_vec = vec_of_offsets(tflite.ModelStartBuffersVector, buf_offsets)
    desc = b.CreateString(description)
    tflite.ModelStart(b)
    tflite.ModelAddVersion(b, 3)
    tflite.ModelAddOperatorCodes(b, codes_vec)
    tflite.ModelAddSubgraphs(b, sub_vec)
    tflite.ModelAddDescription(b, desc)
    tflite.ModelAddBuffers(b, buf_vec)
    model = tflite.ModelEnd(b)
    b.Finish(model, file_identifier=b"TFL3")
    return bytes(b.Output())


def conv_model_bytes(input_shape, weights, bias, input_scale: float, input_zp: int, weight_scales,
                     output_scale: float, output_zp: int, stride_h: int, stride_w: int,
                     padding: str, activation: str) -> bytes:
    """A .tflite model with a single int8 CONV_2D (see chain_model_bytes for the argument ranges)."""
    return chain_model_bytes(input_shape, input_scale, input_zp, [dict(
        weights=weights, bias=bias, weight_scales=weight_scales, output_scale=output_scale,
        output_zp=output_zp, stride=(stride_h, stride_w), padding=padding, activation=activation)])


def encoder_model_bytes(model, height: int = 224, width: int = 224, description: str | None = None) -> bytes:
    """The encoder of a refcodec.model.modelfile.EncoderModel as a .tflite for an input tensor of height x width.

    Every layer is a SAME-padded CONV_2D (the encoder's padding rule is TFLM's SAME rule, see
    same_padding); subgraph outputs are conv1, conv2 and the latent, in order. The model's rounding
    mode is not stored: TFLite has no field for it (it is a build flag of the interpreter).
    height and width are the input tensor's: for a frame whose sides are not multiples of 8 that is the padded
    frame (padded_frame_size; frame_model_bytes does this).
    """
    layers = [dict(weights=L.weights, bias=L.bias, weight_scales=L.weight_scales, output_scale=L.output_scale,
                   output_zp=L.output_zero_point, stride=L.stride, padding="SAME", activation=L.activation)
              for L in model.layers]
    return chain_model_bytes((int(height), int(width), int(model.layers[0].weights.shape[3])),
                             model.input_scale, model.input_zero_point, layers,
                             description if description is not None else "refcodec.tflite.writer")



def padded_frame_size(height: int, width: int) -> tuple[int, int]:
    """(H', W'): height and width rounded up to multiples of 8 (spec section 3.1; refcodec.model.plan.padded_size)."""
    from refcodec.model.plan import padded_size

    return padded_size(int(height), int(width))


def frame_model_bytes(model, height: int, width: int) -> tuple[bytes, tuple[int, int]]:
    """The encoder as a .tflite for frames of height x width (any size): the graph's input is the PADDED frame
    (H', W') = padded_frame_size(height, width), because the encoder runs on the frame after spec section 3.1's
    padding, and the SAME padding of every layer depends on the size it sees. A graph for the unpadded size
    computes other latents: TFLite's SAME pads with the zero point (nothing), where the spec replicates the last
    row and column, and the conv geometry differs. The firmware must therefore pad (replicate the last row and
    column up to H' x W') and convert (pixel - 128) before invoking the graph; TFLite has no edge-replicating
    pad op to embed it (MIRROR_PAD reflects). The Model.description says so too. Returns (bytes, (H', W'))."""
    ph, pw = padded_frame_size(height, width)
    desc = (f"refcodec encoder {model.model_id[:16]} ({model.rounding} rounding): input int8 [1, {ph}, {pw}, 3] "
            f"is a {width}x{height} frame padded to {pw}x{ph} by replicating its last row and column (MCUC spec "
            f"3.1), then pixel - 128 (3.2); outputs conv1, conv2, latent")
    return encoder_model_bytes(model, ph, pw, desc), (ph, pw)
