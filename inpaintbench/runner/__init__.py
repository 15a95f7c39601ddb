"""The benchmark runner. This package's own namespace stays torch-free for the CLI."""

DEFAULT_METRICS = ("psnr", "ssim", "lpips", "l1_hole", "l2_hole", "psnr_hole")
