"""``python -m inpaintbench`` and the ``inpaintbench`` command (what ``torchrun --nproc-per-node N -m
inpaintbench run ...`` starts).

A Ctrl-C is one line however early it lands: the command's modules are imported here, inside the
handler, and the package's own ``__init__`` imports nothing until a name of its API is used.
"""

import sys


def entry() -> int:
    try:
        from .cli import main

        return main()
    except KeyboardInterrupt:  # while importing or building the plugin registry; commands catch their own
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(entry())
