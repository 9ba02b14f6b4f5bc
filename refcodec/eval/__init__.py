"""Evaluation: PSNR and MS-SSIM in NumPy, the JPEG anchor, BD-rate, RD plots and `refcodec eval`."""
