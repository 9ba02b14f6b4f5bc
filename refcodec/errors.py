"""Exception hierarchy. Every error a user can cause is a RefcodecError subclass whose
message is one line that quotes the bad value; the CLI prints it and exits with `exit_code`."""


class RefcodecError(Exception):
    """Base of all refcodec errors."""

    exit_code = 1


class InvalidArgumentError(RefcodecError, ValueError):
    """A parameter is out of range, of the wrong dtype or the wrong shape."""

    exit_code = 2


class InputFileError(RefcodecError):
    """An input file is missing, unreadable or of an unsupported format."""

    exit_code = 3


class ModelFileError(RefcodecError):
    """A model file is malformed, inconsistent, or of an unsupported version."""

    exit_code = 4


# Decoder error classes of bitstream_spec/SPEC.md §8.1 / §8.2, in the order a decoder meets them.
BITSTREAM_ERROR_CODES = (
    "E_MAGIC", "E_TRUNCATED", "E_CRC", "E_VERSION", "E_HEADER", "E_MODEL",
    "E_SYNC", "E_PACKET", "E_ORDER", "E_CHUNK", "E_REFERENCE",
)


class BitstreamError(RefcodecError):
    """A stream violates the bitstream spec (bad magic, CRC, lengths, truncation ...).

    `code` is the spec §8.1 error class (one of BITSTREAM_ERROR_CODES, e.g. "E_CRC"), or None for a
    raise site outside the decoder that did not give one. `detail` is the message without the code;
    str(exc) is "[E_CRC] detail" so the CLI's one-line error names the class.
    `BitstreamError(message)` (no code) stays valid; a message that already starts with "[E_...] "
    sets the code from it.
    """

    exit_code = 5
    default_code: str | None = None

    def __init__(self, message: str = "", code: str | None = None) -> None:
        message = str(message)
        if message.startswith("[E_") and "] " in message:
            head, rest = message[1:].split("] ", 1)
            if head in BITSTREAM_ERROR_CODES and code in (None, head):
                code, message = head, rest
        if code is None:
            code = self.default_code
        if code is not None and code not in BITSTREAM_ERROR_CODES:
            raise ValueError(f"unknown bitstream error code {code!r}, expected one of {BITSTREAM_ERROR_CODES}")
        self.code = code
        self.detail = message
        super().__init__(f"[{code}] {message}" if code is not None else message)

    def with_context(self, prefix: str) -> "BitstreamError":
        """A new error of the same class and code whose detail is `prefix: detail`."""
        return type(self)(f"{prefix}: {self.detail}", code=self.code)


class ModelMismatchError(BitstreamError):
    """A stream was encoded with a different model than the one given (always code E_MODEL)."""

    exit_code = 6
    default_code = "E_MODEL"

    def __init__(self, message: str = "", code: str | None = "E_MODEL") -> None:
        if code not in (None, "E_MODEL"):
            raise ValueError(f"ModelMismatchError code must be E_MODEL, got {code!r}")
        super().__init__(message, code="E_MODEL")


class VerificationFailure(RefcodecError):
    """Firmware output differs from the reference."""

    exit_code = 7


class OutputFileError(RefcodecError):
    """An output cannot be written: its folder is missing or read-only, the disk is full, or it would
    overwrite a file without --force (nothing is left at the target: outputs are written to a temporary name
    and renamed)."""

    exit_code = 8
