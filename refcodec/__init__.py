"""refcodec: bit-exact host reference for MCUCoder-class learned video codecs on microcontrollers."""

__version__ = "0.1.0"
