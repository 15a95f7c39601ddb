"""The metrics stage: per-image metrics on every batch, set-level metrics (fid, kid) at the end."""
