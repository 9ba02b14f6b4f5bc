"""PyTorch training of the codec (optional extra ``train``): float encoder/decoder, MS-SSIM loss,
stochastic tail-drop, post-training INT8 quantization, latent-quantizer and entropy-table calibration,
decoder fine-tuning on the real INT8 latents and export of the NumPy decoder weights.

Nothing here is imported by the codec at run time; only ``refcodec.training.*`` needs torch.
"""
