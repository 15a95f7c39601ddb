"""The store stage: every row committed to SQLite once its PNGs are on disk."""
