"""``python -m inpaintbench``: what ``torchrun --nproc-per-node N -m inpaintbench run ...`` starts."""

import sys

from .cli import main

sys.exit(main())
