"""The exports stage: results.csv, summary.csv and run.json, written from the store alone."""
