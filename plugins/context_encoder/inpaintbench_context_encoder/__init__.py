"""Context Encoder (Pathak et al., CVPR 2016) as an inpaintbench plugin; see ``plugin`` and README.md."""

__version__ = "0.1.0"
