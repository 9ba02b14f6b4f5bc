"""Minimal `.tflite` flatbuffer writer (no TensorFlow): int8 CONV_2D models for TFLite Micro.

See refcodec.tflite.writer for the layout and the padding conventions."""

from refcodec.tflite.writer import (
    chain_model_bytes,
    conv_model_bytes,
    encoder_model_bytes,
    frame_model_bytes,
    padded_frame_size,
    same_padding,
)

__all__ = ["chain_model_bytes", "conv_model_bytes", "encoder_model_bytes", "frame_model_bytes", "padded_frame_size",
           "same_padding"]
