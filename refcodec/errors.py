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


class BitstreamError(RefcodecError):
    """A stream violates the bitstream spec (bad magic, CRC, lengths, truncation ...)."""

    exit_code = 5


class ModelMismatchError(BitstreamError):
    """A stream was encoded with a different model than the one given."""

    exit_code = 6


class VerificationFailure(RefcodecError):
    """Firmware output differs from the reference."""

    exit_code = 7
