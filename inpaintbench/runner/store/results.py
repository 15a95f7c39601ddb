"""The crash-safe result store: one SQLite file per run folder.

Every batch of per-image results is committed as soon as it is computed (WAL journal), so a run
killed at any point keeps everything finished and a rerun skips it. The per-image features of set-level
metrics (``features`` for the predictions, ``real_features`` for the ground truth, float32 vectors) are
committed with the batch they belong to, so the set values (``set_scores``) can be computed at the end of
any run from everything stored. ``images`` lists the dataset as the stream met it (position, id, a sha256
of the pixels, NULL for an input that was skipped), so a resumed run can tell a changed image before it
commits a row for it (``source/identity.py``).

Under torchrun each rank writes a store of its own (``shards/rank-NNNNN.sqlite``, one writer, no shared
memory, so it works on a network file system too) and reads the folder's store read-only; rank 0 merges
the shards into the folder's store when the ranks are done, or when the next run starts after a kill.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from ...errors import InpaintbenchError
from ...files.atomic import DiskFull, no_space, writing
from ...files.readback import Schema, mismatch, parse_json

if TYPE_CHECKING:
    import pandas as pd

T = TypeVar("T")

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
CREATE TABLE IF NOT EXISTS images (
    position INTEGER PRIMARY KEY, image TEXT NOT NULL, digest TEXT
);
CREATE INDEX IF NOT EXISTS images_by_id ON images (image);
"""
#: Tables a shard's rows are copied from, into the same table of the folder's store.
MERGED = ("samples", "scores", "features", "real_features")


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


def _marks(items: Iterable[Any]) -> str:
    """One ``?`` per item, for an ``IN (...)`` list."""
    return ",".join("?" for _ in items)


def _pack(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=np.float32).tobytes()


def _unpack(blobs: list[bytes]) -> np.ndarray:
    """n x D float32 from n stored vectors (0 x 0 for none)."""
    return (
        np.stack([np.frombuffer(b, dtype=np.float32) for b in blobs])
        if blobs
        else np.zeros((0, 0), np.float32)
    )


#: The store's layout, kept in SQLite's ``user_version``: a store of another version is refused by name
#: rather than read as this one. Version 1 lists every input of the stream with its pixels' sha256
#: (``source/identity.py``); an unversioned store (0) written since then is the same layout and is marked 1.
STORE_VERSION = 1

#: The tables a results store has always had: a SQLite file without them is someone else's.
CORE_TABLES = ("meta", "samples")
#: What to do about a store that cannot be read; finished rows in it are lost either way.
START_OVER = "move it away to start over (the finished rows in it cannot be read)"
#: The shape of each meta value the store keeps (``merged:...`` markers are ``true``): one of another
#: shape is refused by name before the run relies on it.
META: dict[str, Schema] = {
    "identity": {
        "dataset": str,
        "image_size": int,
        "seed": int,
        "limit": (int, type(None)),
        "metrics": [str],
    },
    "listing_end": int,
    "shard": str,
}


def _locked(method: Callable[..., T]) -> Callable[..., T]:
    """Run the method holding the store's lock: the run's threads (the model's, the metrics') share one
    connection, and a transaction must never take in another thread's statements."""

    @functools.wraps(method)
    def locked(self: ResultStore, *args: Any, **kwargs: Any) -> T:
        with self.lock:
            return method(self, *args, **kwargs)

    return locked


class ResultStore:
    """The store of one run folder. Opening it changes nothing until ``open_session``: a corrupt or
    foreign file is refused first, so nothing in the folder is rewritten before that error."""

    def __init__(self, path: Path, argv: list[str], exclusive: bool = False) -> None:
        self.path = path
        self.argv = argv
        self.db = sqlite3.connect(path, isolation_level=None, timeout=60, check_same_thread=False)
        self.lock = threading.RLock()
        try:
            self._check_readable()
            with writing(path):
                if exclusive:  # one writer, no -shm file: safe on a network file system
                    self.db.execute("PRAGMA locking_mode=EXCLUSIVE")
                self._to_wal()
                self.db.execute("PRAGMA synchronous=NORMAL")
                version = self._check_version()
                self.db.executescript(SCHEMA)
                if version != STORE_VERSION:
                    self.db.execute(f"PRAGMA user_version = {STORE_VERSION}")
        except BaseException:
            self.db.close()
            raise
        self.session = 0

    def _to_wal(self, patience_s: float = 60.0) -> None:
        """Switch a new store to WAL. Two processes creating one store at once can find it locked: SQLite
        answers that change at once instead of waiting (the busy timeout does not cover it), so retry."""
        deadline = time.monotonic() + patience_s
        while True:
            try:
                self.db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _check_readable(self) -> None:
        """Refuse, in one line naming the file, a store that is truncated, overwritten, not SQLite,
        or SQLite without our tables; an empty or new file is a new store."""
        try:
            tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as exc:
            raise InpaintbenchError(f"{self.path} cannot be read ({exc}): {START_OVER}") from None
        try:
            problems = [r[0] for r in self.db.execute("PRAGMA quick_check")] if tables else ["ok"]
        except sqlite3.DatabaseError as exc:  # a page the check itself cannot walk
            problems = [str(exc)]
        if problems != ["ok"]:
            found = " ".join(problems[0].split())
            raise InpaintbenchError(f"{self.path} is damaged (SQLite says: {found}): {START_OVER}")
        missing = [t for t in CORE_TABLES if t not in tables]
        if tables and missing:
            raise InpaintbenchError(
                f"{self.path} is an SQLite database but not an inpaintbench results store (no table "
                f"'{missing[0]}'): move it away, or use another --out"
            )

    def _check_version(self) -> int:
        """The store's version, refusing a store of another layout: a newer one, or one from before the
        per-image listing (its identity holds a whole-dataset fingerprint and nothing is listed), whose
        rows cannot be checked against the data image by image."""
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > STORE_VERSION:
            raise InpaintbenchError(
                f"{self.path} was written by a newer inpaintbench (store version {version}; this one reads "
                f"{STORE_VERSION}): upgrade, or use another --out"
            )
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if version == 0 and "meta" in tables:
            identity = self.get_meta("identity")
            listed = "images" in tables and self.db.execute("SELECT 1 FROM images LIMIT 1").fetchone()
            if identity is not None and "fingerprint" in identity and not listed:
                raise InpaintbenchError(
                    f"{self.path} was written by a development version of inpaintbench from before the "
                    "per-image listing; its rows cannot be checked against the data: use another --out"
                )
        return version

    @classmethod
    def reader(cls, path: Path) -> ResultStore:
        """The store opened read-only without locks, for ranks that only look things up while nobody
        writes it (rank 0 checkpoints it first, so the file alone holds everything)."""
        store = cls.__new__(cls)
        store.path, store.argv, store.session, store.lock = path, [], 0, threading.RLock()
        store.db = sqlite3.connect(
            f"{Path(path).resolve().as_uri()}?mode=ro&immutable=1", uri=True, check_same_thread=False
        )
        return store

    def close(self) -> None:
        self.db.close()

    def checkpoint(self) -> None:
        """Move everything from the WAL into the database file, so a read-only reader needs the file only."""
        with writing(self.path):
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    @_locked
    def set_meta(self, key: str, value: Any) -> None:
        with writing(self.path):
            self.db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value))
            )

    # -- run identity -------------------------------------------------------------------------
    @_locked
    def get_meta(self, key: str) -> Any:
        """The meta value ``key`` (None when unset), checked against its shape in ``META``."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            value = parse_json(row[0], f"its meta value '{key}'")
            problem = mismatch(value, META.get(key, bool), f"its meta value '{key}'")
        except (ValueError, TypeError) as exc:  # TypeError: a value stored as a blob, not text
            problem = str(exc)
        if problem:
            raise InpaintbenchError(
                f"{self.path} was changed outside inpaintbench ({problem}): restore it, or move it away "
                "to start over"
            )
        return value

    @_locked
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
    @_locked
    def done_among(
        self, model: str, mask: str, images: list[str], metrics: Sequence[str], keys: Sequence[str]
    ) -> set[str]:
        """Which of ``images`` are finished for (model, mask): a row, a stored score for each of
        ``metrics`` and a feature vector for each of ``keys``. The store, not what a run once counted,
        decides: a result whose row, scores or features were deleted is computed again."""
        return self._among(
            "SELECT image FROM samples s WHERE model = ? AND mask = ? "
            "AND (SELECT COUNT(*) FROM scores c WHERE c.model = s.model AND c.mask = s.mask "
            f"AND c.image = s.image AND c.metric IN ({_marks(metrics)})) = ? "
            "AND (SELECT COUNT(*) FROM features f WHERE f.model = s.model AND f.mask = s.mask "
            f"AND f.image = s.image AND f.key IN ({_marks(keys)})) = ? AND image IN ",
            (model, mask, *metrics, len(metrics), *keys, len(keys)),
            images,
        )

    def _among(self, sql: str, args: tuple[Any, ...], images: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(images), 500):  # SQLite's limit on bound parameters
            chunk = images[start : start + 500]
            found.update(r[0] for r in self.db.execute(f"{sql}({_marks(chunk)})", (*args, *chunk)))
        return found

    @_locked
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

    # -- the dataset as the stream met it ----------------------------------------------------------------
    @_locked
    def listed(self, first: int, last: int) -> dict[int, tuple[str, str | None]]:
        """The stored entries at positions ``first``..``last``: position -> (image id, digest or None)."""
        rows = self.db.execute(
            "SELECT position, image, digest FROM images WHERE position BETWEEN ? AND ?", (first, last)
        )
        return {p: (image, digest) for p, image, digest in rows}

    @_locked
    def add_listed(self, entries: list[tuple[int, str, str | None]]) -> None:
        """Record (position, image id, digest or None for a skipped input), before any row of them."""
        with writing(self.path), self.db:
            self.db.execute("BEGIN")
            self.db.executemany("INSERT OR REPLACE INTO images VALUES (?, ?, ?)", entries)

    @_locked
    def listing(self) -> tuple[int, str]:
        """How many usable images are listed, and the dataset fingerprint: sha256 over every usable
        image's id and pixel digest in dataset order (equal fingerprints mean the same data)."""
        h = hashlib.sha256()
        count = 0
        for image, digest in self.db.execute(
            "SELECT image, digest FROM images WHERE digest IS NOT NULL ORDER BY position"
        ):
            h.update(f"{image}\0{digest}\n".encode())
            count += 1
        return count, h.hexdigest()

    def merge(self, shard: Path) -> None:
        """Copy a rank's store into this one and remove it; merging the same shard twice (a kill between
        the commit and the removal) adds nothing."""
        try:
            self.db.execute("ATTACH DATABASE ? AS shard", (str(shard),))
        except sqlite3.DatabaseError as exc:
            raise InpaintbenchError(
                f"{shard} cannot be read ({exc}): move it away to go on without it"
            ) from None
        try:
            token = self.db.execute("SELECT value FROM shard.meta WHERE key = 'shard'").fetchone()
            marker = f"merged:{json.loads(token[0]) if token else shard.name}"
            with writing(self.path), self.db:
                self.db.execute("BEGIN IMMEDIATE")
                if self.get_meta(marker) is None:
                    for table in MERGED:
                        self.db.execute(f"INSERT OR REPLACE INTO {table} SELECT * FROM shard.{table}")
                    self.db.execute("INSERT OR REPLACE INTO images SELECT * FROM shard.images")
                    self.db.execute(
                        "INSERT INTO events (session, kind, payload) "
                        "SELECT session, kind, payload FROM shard.events ORDER BY id"
                    )
                    self.db.execute("INSERT INTO meta (key, value) VALUES (?, 'true')", (marker,))
        except sqlite3.DatabaseError as exc:
            reason = no_space(exc)
            if reason is not None:
                raise DiskFull(self.path, reason=reason) from None
            raise InpaintbenchError(
                f"{shard} cannot be read ({exc}): move it away to go on without it"
            ) from None
        finally:
            self.db.execute("DETACH DATABASE shard")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{shard}{suffix}").unlink(missing_ok=True)

    # -- set-level metrics ------------------------------------------------------------------------
    @_locked
    def real_done(self, key: str) -> set[str]:
        """The images whose ground-truth features under ``key`` are stored."""
        return {r[0] for r in self.db.execute("SELECT image FROM real_features WHERE key = ?", (key,))}

    @_locked
    def real_done_among(self, key: str, images: list[str]) -> set[str]:
        """Which of ``images`` have their ground-truth features under ``key`` stored."""
        return self._among("SELECT image FROM real_features WHERE key = ? AND image IN ", (key,), images)

    @_locked
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

    def row_counts(self) -> dict[tuple[str, str], int]:
        """Rows stored per (model, mask)."""
        rows = self.db.execute("SELECT model, mask, COUNT(*) FROM samples GROUP BY model, mask")
        return {(model, mask): n for model, mask, n in rows}

    def session_counts(self) -> dict[int, int]:
        """How many results each invocation computed: a resumed run recomputes nothing finished."""
        counts = dict(self.db.execute("SELECT session, COUNT(*) FROM samples GROUP BY session").fetchall())
        return {s: counts.get(s, 0) for (s,) in self.db.execute("SELECT id FROM sessions")}

    # -- events (failures, skipped inputs, metrics not computed) ------------------------------------
    @_locked
    def add_event(self, kind: str, payload: dict[str, Any]) -> None:
        with writing(self.path):
            self.db.execute(
                "INSERT INTO events (session, kind, payload) VALUES (?, ?, ?)",
                (self.session, kind, json.dumps(payload)),
            )

    @_locked
    def events(self, kind: str, session_only: bool = False) -> list[dict[str, Any]]:
        sql = "SELECT payload FROM events WHERE kind = ?" + (" AND session = ?" if session_only else "")
        args = (kind, self.session) if session_only else (kind,)
        return [json.loads(r[0]) for r in self.db.execute(sql + " ORDER BY id", args)]

    def sessions(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT id, started, argv FROM sessions ORDER BY id").fetchall()
        counts = self.session_counts()
        return [{"id": i, "started": s, "argv": json.loads(a), "computed": counts[i]} for i, s, a in rows]

    def results_frame(self, metrics: list[str]) -> pd.DataFrame:
        """The wide results table: model, mask, image, hole_ratio, one column per metric, checkpoint, and
        ``position`` (the image's place in the dataset; NaN for an image the listing lacks)."""
        import pandas as pd

        samples = pd.read_sql_query(
            "SELECT s.model, s.mask, s.image, s.hole_ratio, s.checkpoint, "
            "(SELECT MIN(position) FROM images i WHERE i.image = s.image AND i.digest IS NOT NULL) "
            "AS position "
            "FROM samples s ORDER BY s.model, s.mask, s.image",
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
        return frame[["model", "mask", "image", "hole_ratio", *metrics, "checkpoint", "position"]]
