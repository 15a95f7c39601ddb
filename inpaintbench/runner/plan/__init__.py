"""What the run will do: its settings, their bounds, the reference baselines, and the settings of a
folder read back for ``--resume``; all checked before torch is imported."""
