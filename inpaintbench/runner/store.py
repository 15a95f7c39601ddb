"""The crash-safe result store: one SQLite file per run folder.

Every batch of per-image results is committed as soon as it is computed (WAL journal), so a run
killed at any point keeps everything finished and a rerun skips it. The per-image features of set-level
metrics (``features`` for the predictions, ``real_features`` for the ground truth, float32 vectors) are
committed with the batch they belong to, so the set values (``set_scores``) can be computed at the end of
any run from everything stored.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InpaintbenchError
from .files import writing

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS samples (
    model TEXT NOT NULL, mask TEXT NOT NULL, image TEXT NOT NULL,
    hole_ratio REAL NOT NULL, checkpoint TEXT NOT NULL, session INTEGER NOT NULL,
    PRIMARY KEY (model, mask, image)
);
CREATE TABLE IF NOT EXISTS scores (
    model TEXT NOT NULL, mask TEXT NOT NULL, image TEXT NOT NULL, metric TEXT NOT NULL, value REAL,
    PRIMARY KEY (model, mask, image, metric)
);
CREATE TABLE IF NOT EXISTS features (
    model TEXT NOT NULL, mask TEXT NOT NULL, image TEXT NOT NULL, key TEXT NOT NULL, vector BLOB NOT NULL,
    PRIMARY KEY (model, mask, image, key)
);
CREATE TABLE IF NOT EXISTS real_features (
    key TEXT NOT NULL, image TEXT NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (key, image)
);
CREATE TABLE IF NOT EXISTS set_scores (
    model TEXT NOT NULL, mask TEXT NOT NULL, metric TEXT NOT NULL, value REAL, n INTEGER NOT NULL,
    session INTEGER NOT NULL, PRIMARY KEY (model, mask, metric)
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, session INTEGER NOT NULL, kind TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, started TEXT NOT NULL, argv TEXT NOT NULL
);
"""


@dataclass
class Row:
    """One scored (model, mask regime, image) triple."""

    model: str
    mask: str
    image: str
    hole_ratio: float
    checkpoint: str
    scores: dict[str, float]
    #: The image's feature vector per feature key of the run's set-level metrics.
    features: dict[str, np.ndarray] = field(default_factory=dict)


def _pack(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


def _unpack(blobs: list[bytes]) -> np.ndarray:
    """n x D float32 from n stored vectors (0 x 0 for none)."""
    return (
        np.stack([np.frombuffer(b, dtype=np.float32) for b in blobs])
        if blobs
        else np.zeros((0, 0), np.float32)
    )


#: The tables a results store has always had: a SQLite file without them is someone else's.
CORE_TABLES = ("meta", "samples")
#: What to do about a store that cannot be read; finished rows in it are lost either way.
START_OVER = "move it away to start over (the finished rows in it cannot be read)"


class ResultStore:
    """The store of one run folder. Opening it changes nothing until ``open_session``: a corrupt or
    foreign file is refused first, so nothing in the folder is rewritten before that error."""

    def __init__(self, path: Path, argv: list[str]) -> None:
        self.path = path
        self.argv = argv
        self.db = sqlite3.connect(path, isolation_level=None, timeout=60)
        try:
            self._check_readable()
            with writing(path):
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=NORMAL")
                self.db.executescript(SCHEMA)
        except BaseException:
            self.db.close()
            raise
        self.session = 0

    def _check_readable(self) -> None:
        """Refuse, in one line naming the file, a store that is truncated, overwritten, not SQLite,
        or SQLite without our tables; an empty or new file is a new store."""
        try:
            tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            problems = [r[0] for r in self.db.execute("PRAGMA quick_check")] if tables else ["ok"]
        except sqlite3.DatabaseError as exc:
            raise InpaintbenchError(f"{self.path} cannot be read ({exc}): {START_OVER}") from None
        if problems != ["ok"]:
            found = " ".join(problems[0].split())
            raise InpaintbenchError(f"{self.path} is damaged (SQLite says: {found}): {START_OVER}")
        missing = [t for t in CORE_TABLES if t not in tables]
        if tables and missing:
            raise InpaintbenchError(
                f"{self.path} is an SQLite database but not an inpaintbench results store (no table "
                f"'{missing[0]}'): move it away, or use another --out"
            )

    def close(self) -> None:
        self.db.close()

    # -- run identity -------------------------------------------------------------------------
    def get_meta(self, key: str) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def open_session(self, identity: dict[str, Any]) -> dict[str, Any] | None:
        """Claim the store for ``identity`` (the settings its rows depend on) and record this invocation.

        Reading the stored identity and writing it are one ``BEGIN IMMEDIATE`` transaction, so two
        writers can never both find an empty store and fill it with different settings. Returns the
        stored identity when it differs from ``identity``; nothing is written then.
        """
        with writing(self.path), self.db:
            self.db.execute("BEGIN IMMEDIATE")
            stored = self.get_meta("identity")
            if stored is not None and any(stored.get(k) != v for k, v in identity.items()):
                return stored
            if stored is None:
                self.db.execute(
                    "INSERT INTO meta (key, value) VALUES ('identity', ?)", (json.dumps(identity),)
                )
            cur = self.db.execute(
                "INSERT INTO sessions (started, argv) VALUES (?, ?)",
                (datetime.now(timezone.utc).isoformat(timespec="seconds"), json.dumps(self.argv)),
            )
            self.session = int(cur.lastrowid)
        return None

    # -- results ------------------------------------------------------------------------------
    def done(self, model: str, mask: str) -> set[str]:
        rows = self.db.execute("SELECT image FROM samples WHERE model = ? AND mask = ?", (model, mask))
        return {r[0] for r in rows}

    def add(self, rows: Iterable[Row]) -> None:
        """Store a batch atomically: either every row of it survives a crash or none does."""
        with writing(self.path), self.db:
            self.db.execute("BEGIN")
            for r in rows:
                self.db.execute(
                    "INSERT OR REPLACE INTO samples VALUES (?, ?, ?, ?, ?, ?)",
                    (r.model, r.mask, r.image, r.hole_ratio, r.checkpoint, self.session),
                )
                self.db.executemany(
                    "INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?, ?)",
                    [
                        (r.model, r.mask, r.image, name, None if math.isnan(v) else v)
                        for name, v in r.scores.items()
                    ],
                )
                self.db.executemany(
                    "INSERT OR REPLACE INTO features VALUES (?, ?, ?, ?, ?)",
                    [(r.model, r.mask, r.image, key, _pack(v)) for key, v in r.features.items()],
                )

    # -- set-level metrics ------------------------------------------------------------------------
    def real_done(self, key: str) -> set[str]:
        """The images whose ground-truth features under ``key`` are stored."""
        return {r[0] for r in self.db.execute("SELECT image FROM real_features WHERE key = ?", (key,))}

    def add_real_features(self, key: str, images: list[str], vectors: np.ndarray) -> None:
        """Store a batch of ground-truth features atomically, like a batch of results."""
        with writing(self.path), self.db:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT OR REPLACE INTO real_features VALUES (?, ?, ?)",
                [(key, image, _pack(v)) for image, v in zip(images, vectors, strict=True)],
            )

    def paired_features(self, model: str, mask: str, key: str) -> tuple[list[str], np.ndarray, np.ndarray]:
        """The images of (model, mask) that have both a prediction's and the ground truth's features
        under ``key``, in image-id order, with the two n x D arrays row-aligned."""
        rows = self.db.execute(
            "SELECT f.image, f.vector, r.vector FROM features f JOIN real_features r "
            "ON r.key = f.key AND r.image = f.image WHERE f.model = ? AND f.mask = ? AND f.key = ? "
            "ORDER BY f.image",
            (model, mask, key),
        ).fetchall()
        return [r[0] for r in rows], _unpack([r[1] for r in rows]), _unpack([r[2] for r in rows])

    def set_set_value(self, model: str, mask: str, metric: str, value: float, n: int) -> None:
        with writing(self.path):
            self.db.execute(
                "INSERT OR REPLACE INTO set_scores VALUES (?, ?, ?, ?, ?, ?)",
                (model, mask, metric, None if math.isnan(value) else value, n, self.session),
            )

    def set_values(self, metrics: list[str]) -> dict[str, dict[tuple[str, str], tuple[float, int]]]:
        """Per set-level metric, {(model, mask): (value, n)} as last computed (NaN: undefined)."""
        out: dict[str, dict[tuple[str, str], tuple[float, int]]] = {name: {} for name in metrics}
        for model, mask, metric, value, n in self.db.execute(
            "SELECT model, mask, metric, value, n FROM set_scores"
        ):
            if metric in out:
                out[metric][(model, mask)] = (math.nan if value is None else value, n)
        return out

    def session_counts(self) -> dict[int, int]:
        """How many results each invocation computed: a resumed run recomputes nothing finished."""
        counts = dict(self.db.execute("SELECT session, COUNT(*) FROM samples GROUP BY session").fetchall())
        return {s: counts.get(s, 0) for (s,) in self.db.execute("SELECT id FROM sessions")}

    # -- events (failures, skipped inputs, metrics not computed) ------------------------------------
    def add_event(self, kind: str, payload: dict[str, Any]) -> None:
        with writing(self.path):
            self.db.execute(
                "INSERT INTO events (session, kind, payload) VALUES (?, ?, ?)",
                (self.session, kind, json.dumps(payload)),
            )

    def events(self, kind: str, session_only: bool = False) -> list[dict[str, Any]]:
        sql = "SELECT payload FROM events WHERE kind = ?" + (" AND session = ?" if session_only else "")
        args = (kind, self.session) if session_only else (kind,)
        return [json.loads(r[0]) for r in self.db.execute(sql + " ORDER BY id", args)]

    def sessions(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT id, started, argv FROM sessions ORDER BY id").fetchall()
        counts = self.session_counts()
        return [{"id": i, "started": s, "argv": json.loads(a), "computed": counts[i]} for i, s, a in rows]

    def results_frame(self, metrics: list[str]) -> pd.DataFrame:
        """The wide results table: model, mask, image, hole_ratio, one column per metric, checkpoint."""
        samples = pd.read_sql_query(
            "SELECT model, mask, image, hole_ratio, checkpoint FROM samples ORDER BY model, mask, image",
            self.db,
        )
        scores = pd.read_sql_query("SELECT model, mask, image, metric, value FROM scores", self.db)
        wide = scores.pivot_table(
            index=["model", "mask", "image"], columns="metric", values="value", aggfunc="first", dropna=False
        )
        frame = samples.merge(wide.reset_index(), on=["model", "mask", "image"], how="left")
        for name in metrics:
            if name not in frame:
                frame[name] = float("nan")
        return frame[["model", "mask", "image", "hole_ratio", *metrics, "checkpoint"]]
