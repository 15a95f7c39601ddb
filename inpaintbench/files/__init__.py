"""The files inpaintbench writes: atomic writes, where each file of a run folder lives, and the
folder's writer lock. Below everything that writes, so the runner, the report, frozen sets and exports
write the same way."""
