"""Media I/O (not part of the bitstream): images, folders, Y4M and videos in; PNG, folders, Y4M, MP4 out."""

from refcodec.media.reader import MediaSource, open_media, read_image
from refcodec.media.resize import resize_frame
from refcodec.media.writer import output_kind, to_uint8, write_frames

__all__ = ["MediaSource", "open_media", "output_kind", "read_image", "resize_frame", "to_uint8", "write_frames"]
