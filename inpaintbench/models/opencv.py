"""OpenCV's classical inpainting, ``cv2.inpaint``: Telea's fast marching method (``opencv_telea``)
and the Navier-Stokes method of Bertalmio et al. (``opencv_ns``), training-free CPU baselines.

The argument is ``inpaintRadius``, the neighbourhood in pixels each hole pixel is filled from
(``opencv_telea:5``; default 3, OpenCV's documented example value). Quantisation: ``cv2.inpaint``
takes 8-bit images only, so the model sees the known pixels rounded to 8 bits (``rint(x * 255)``, as
the run's PNGs round them; exact for 8-bit data such as ``samples`` or an evaluation set) and its
8-bit output is divided by 255. Hole pixels hold ``HOLE_VALUE`` and OpenCV never reads them. cv2 is
imported only when used, so listing components does not load it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..components import Model, PrepareContext
from ..errors import InpaintbenchError
from ..images import to_uint8

if TYPE_CHECKING:
    import torch

    from ..components import Batch

DEFAULT_RADIUS = 3


class OpenCVInpaint(Model):
    """``cv2.inpaint`` with the method named by ``flag`` (an attribute of cv2), one image at a time."""

    flag: ClassVar[str] = ""
    argument = "inpaintRadius: pixels around each hole pixel it is filled from (an integer >= 1; default 3)"

    def __init__(self, arg: str | None = None) -> None:
        super().__init__(arg)
        try:
            self.radius = DEFAULT_RADIUS if arg is None else int(arg)
        except ValueError:
            self.radius = 0
        if self.radius < 1:
            raise InpaintbenchError(
                f"model '{self.name}': radius '{arg}' is not an integer of 1 or more (e.g. {self.name}:5)"
            )

    def prepare(self, ctx: PrepareContext) -> None:
        try:
            import cv2  # noqa: F401
        except ImportError as exc:
            raise InpaintbenchError(
                f"model '{self.name}' needs OpenCV: pip install opencv-python-headless ({exc})"
            ) from exc

    def inpaint(self, batch: Batch) -> torch.Tensor:
        import cv2
        import torch

        pixels = to_uint8(batch.images.permute(0, 2, 3, 1).cpu().numpy())
        holes = (batch.masks[:, 0] > 0.5).cpu().numpy().astype(np.uint8) * 255
        method = getattr(cv2, self.flag)
        filled = np.stack(
            [cv2.inpaint(image, hole, self.radius, method) for image, hole in zip(pixels, holes, strict=True)]
        )
        out = torch.from_numpy(filled.astype(np.float32) / 255).permute(0, 3, 1, 2)
        return out.to(batch.images.device)

    def provenance(self) -> dict[str, Any]:
        import cv2

        return {"opencv": cv2.__version__, "method": self.flag, "radius": self.radius}


class OpenCVTelea(OpenCVInpaint):
    name = "opencv_telea"
    description = "OpenCV cv2.inpaint, Telea's fast marching method, on 8-bit input (radius: argument)"
    flag = "INPAINT_TELEA"


class OpenCVNavierStokes(OpenCVInpaint):
    name = "opencv_ns"
    description = "OpenCV cv2.inpaint, the Navier-Stokes method, on 8-bit input (radius: argument)"
    flag = "INPAINT_NS"
