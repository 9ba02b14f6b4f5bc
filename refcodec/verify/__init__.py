"""`refcodec verify`: firmware output (stream and/or layer dumps) against the reference, with a diagnosis."""

from refcodec.verify.core import Diagnosis, Mismatch, VerifyReport, verify
from refcodec.verify.dumps import DUMP_NAMES, frame_dirs, read_dump

__all__ = ["DUMP_NAMES", "Diagnosis", "Mismatch", "VerifyReport", "frame_dirs", "read_dump", "verify"]
