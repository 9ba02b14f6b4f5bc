"""Entropy coding of latent symbols (spec §6): static canonical Huffman per channel, context Huffman (§6.6),
raw packing."""

from refcodec.entropy.bitio import BitReader, BitWriter, pack_codes
from refcodec.entropy.chunk import decode_channel, encode_channel
from refcodec.entropy.context import ContextCoder, context_coders, context_indices, context_params
from refcodec.entropy.huffman import (
    build_code_lengths,
    canonical_codes,
    huffman_decode,
    huffman_encode,
    validate_code_lengths,
)
from refcodec.entropy.model_tables import EntropyTables
from refcodec.entropy.raw import raw_pack, raw_unpack
from refcodec.entropy.tables import fit_code_lengths, fit_context_lengths, fit_entropy_tables, symbol_counts

__all__ = [
    "BitReader", "BitWriter", "ContextCoder", "EntropyTables", "build_code_lengths", "canonical_codes", "context_coders",
    "context_indices", "context_params", "decode_channel", "encode_channel", "fit_code_lengths",
    "fit_context_lengths", "fit_entropy_tables", "huffman_decode", "huffman_encode",
    "pack_codes", "raw_pack", "raw_unpack", "symbol_counts", "validate_code_lengths",
]
