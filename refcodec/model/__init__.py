"""The INT8 encoder model: topology, model file, latent quantizer, layer-by-layer execution."""
