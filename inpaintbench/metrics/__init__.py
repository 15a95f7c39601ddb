"""Built-in metrics, registered through the same hook as third-party plugins.

Importing this package must not import torch: the metric modules import it inside functions.
"""

from ..hookspecs import hookimpl
from .fid import FID, KID
from .perceptual import LPIPS
from .pixel import PSNR, L1Hole, L2Hole, PSNRHole
from .ssim import SSIM


@hookimpl
def register_metrics(register) -> None:
    for metric in (PSNR, PSNRHole, L1Hole, L2Hole, SSIM, LPIPS, FID, KID):
        register(metric)
