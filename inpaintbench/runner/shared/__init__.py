"""What every stage of a run shares: its processes (torchrun ranks), its threads, and where a
component's failure is charged."""
