"""The benchmark runner, one sub-package per stage in the order a batch goes through them:

    plan/      what the run will do: names, options and bounds, checked before torch is imported
    source/    the dataset read batch by batch on loader threads (decode, resize, hash), each image's
               masks drawn (``masks.draw``, the path freeze and export take too), and the data checked
               against what a resumed folder's rows were computed on
    model/     each model prepared on first need and run on the sealed batch; its output checked and
               composited
    scoring/   per-image metrics, and the features of set-level metrics
    store/     rows committed to SQLite once their PNGs are written
    exports/   results.csv, summary.csv and run.json, from the store alone
    run.py     the stages in order, and the report at the end (``inpaintbench.report``)

``shared/`` holds what every stage uses: torchrun ranks, threads, and where failures are charged. A
stage imports only from the stages before it (``tests/test_layers.py``). This package's own namespace
stays torch-free for the CLI.
"""
