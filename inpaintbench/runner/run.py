"""The benchmark run, stage by stage: a stream of batches from the dataset, every model on each batch,
scores and PNGs, committed per batch, then the outputs from the store and the report.

    plan/          names, options and bounds, checked before torch is imported
    source/        the dataset read batch by batch on loader threads (decode, resize, hash); each image's
                   masks (``masks.draw``: frozen or drawn from the seed, checked reproducible, the path
                   freeze and export take too); the folder's data checked image by image against what
                   its rows were computed on (``identity.py``)
    model/         each model prepared on first need and run on the sealed batch (``sealed.py``), its
                   output checked and composited (``outputs.py``)
    scoring/       per-image metrics, and the features of set-level metrics (``sets.py``)
    store/         rows committed to SQLite (``results.py``) once their PNGs (``pngs.py``) are written
    exports/       results.csv, summary.csv and run.json, from the store alone
    shared/        torchrun (each rank scores its blocks into its own store; rank 0 merges and exports),
                   threads, and the charging of failures

The dataset is read once for all models, and memory is bounded by the batch size and the number of
loader threads, not by the number of images. Errors are charged to the component that raised them
(``shared/failures.py``), and the run's exit status says when it is incomplete.
"""

from __future__ import annotations

import itertools
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import ExitStack
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from ..device import resolve_device
from ..errors import InpaintbenchError, one_line, printable
from ..files import layout
from ..files.atomic import DiskFull, writing
from ..files.lock import exclusive
from ..files.owned import refuse_links
from ..images import to_uint8
from ..plugins import Registry, get_registry
from .exports.folder import Exports, RunOutcome, read_previous
from .model.step import ModelStep
from .plan.config import IDENTITY_KEYS, Plan, RunConfig
from .scoring.metrics import Scoring
from .shared.background import Background
from .shared.distributed import World, agree
from .shared.errorlog import ErrorLog
from .shared.failures import Failures, ModelFailed
from .shared.memory import Trimmer
from .shared.threads import PNG_THREADS, evaluation_threads, loader_threads, torch_threads
from .source.identity import DatasetCheck
from .source.stream import Chunk, Item, Source, Stream
from .store.pngs import PngWriter
from .store.results import ResultStore, Row
from .store.saving import Saver

__all__ = ["IDENTITY_KEYS", "ModelFailed", "RunConfig", "RunOutcome", "Runner"]

#: What a full disk part-way through a run says to do.
RESUME_ADVICE = "finished results are kept; free some space, then: inpaintbench run --resume {}"


def _log(line: str) -> None:
    """One line on stderr above the progress bars, escaped: a file name or a plugin's message in it
    cannot start a line of its own or send the terminal an escape sequence."""
    tqdm.write(printable(line), file=sys.stderr)


class Runner:
    """One invocation of ``inpaintbench run`` into one output folder (one rank of it under torchrun)."""

    def __init__(
        self,
        config: RunConfig,
        out: Path,
        argv: list[str],
        progress: bool = True,
        registry: Registry | None = None,
        log: Callable[[str], None] = _log,
        debug: bool = False,
        world: World | None = None,
        plan: Plan | None = None,
    ) -> None:
        self.plan = plan or Plan.resolve(config, Path(out), registry or get_registry())
        self.config = self.plan.config
        self.out = self.plan.out
        self.argv = argv
        self.world = world or World()
        self.progress = progress and self.world.leader
        prefix = f"[rank {self.world.rank}] " if self.world.distributed else ""
        self.log = log if not prefix else (lambda line: log(prefix + line))
        self.errors = ErrorLog(self.out, debug)
        self.device = _device(self.config.device, self.world)
        #: torch's threads outside the evaluation (``shared/threads.py``).
        self.threads = torch.get_num_threads()
        self.timings: dict[str, Any] = {
            "prepare_s": {},
            "eval_s": {},
            "metric_s": {},
            "features_s": {},
            "load_wait_s": 0.0,
        }

    # -- the run ------------------------------------------------------------------------------------
    def execute(self) -> RunOutcome:
        """Read the first batch (and draw its masks) before any file is created, so a problem with the
        inputs is one line and an untouched disk; then claim the folder and stream the rest."""
        started = time.perf_counter()
        plan = self.plan
        loaders = loader_threads()
        eight_bit = not self.config.float_scores
        source = Source(plan.dataset, plan.masks, self.config.image_size, self.config.seed,
                        self.config.batch_size, self.world, loaders, eight_bit)  # fmt: skip
        stream = Stream(source, self.config.limit, self.world)
        try:
            with torch_threads(evaluation_threads(self.device, loaders)):
                return self._execute(stream, started)
        finally:
            source.close()

    def _execute(self, stream: Stream, started: float) -> RunOutcome:
        head = self._head(stream)
        self._check_models()
        with ExitStack() as stack:
            reader, writer = self._open(stack, head, started)
            try:
                return self._run(reader, writer, head, stream, started)
            except DiskFull as exc:  # run.json holds this invocation: --resume finishes it
                raise DiskFull(exc.path, RESUME_ADVICE.format(self.out), exc.reason) from None

    def _head(self, stream: Stream) -> list[Chunk]:
        """The stream up to its first usable image on this rank (the batches before it hold only inputs
        that were skipped), agreed on by every rank: an input error anywhere stops all of them, and a
        dataset without a single usable image is refused before any folder exists."""
        head: list[Chunk] = []
        error: BaseException | None = None
        ended = False
        try:
            while True:
                chunk = stream.next()
                if chunk is None:
                    ended = True
                    break
                head.append(chunk)
                # with --limit the ranks read in lockstep (a collective per round): one round only
                if chunk.items or (self.config.limit is not None and self.world.distributed):
                    break
        except Exception as exc:
            error = exc
        agree(self.world, error)
        found = self.world.gather((any(c.items for c in head), ended))
        if not any(usable for usable, _ in found) and all(done for _, done in found):
            raise InpaintbenchError(f"--dataset {self.config.dataset} gave no usable test images")
        return head

    def _check_models(self) -> None:
        """Every model's ``check`` (a model file loaded and tried on a probe batch) before the folder is
        written, agreed on by every rank: a file that does not load or run is one line and exit status 2."""
        error: BaseException | None = None
        for spec, model in self.plan.models.items():
            try:
                model.check(self.device, self.config.image_size)
            except InpaintbenchError as exc:
                error = exc
            except Exception as exc:  # a plugin's bug in its check: one line naming the model
                error = InpaintbenchError(f"model '{spec}' failed its check: {one_line(exc)}")
            if error is not None:
                break
        agree(self.world, error)

    def _open(self, stack: ExitStack, head: list[Chunk], started: float) -> tuple[ResultStore, ResultStore]:
        """Rank 0 creates and locks the folder, merges the stores of ranks an earlier run left, claims the
        store for this run's settings and records the invocation; then every rank opens its stores: the
        one it reads finished work from and the one it writes (the same in a single process)."""
        main: ResultStore | None = None
        error: BaseException | None = None
        if self.world.leader:
            try:
                main = self._claim(stack, head, started)
            except BaseException as exc:
                error = exc
        agree(self.world, error)
        session = self.world.share(main.session if main is not None else 0)
        if not self.world.distributed:
            assert main is not None
            return main, main
        reader = ResultStore.reader(self.out / layout.RESULTS_DB)
        stack.callback(reader.close)
        path = self.out / layout.SHARDS_DIR / f"rank-{self.world.rank:05d}.sqlite"
        with writing(path):
            path.parent.mkdir(exist_ok=True)
        writer = ResultStore(path, self.argv, exclusive=True)
        stack.callback(writer.close)
        writer.set_meta("shard", uuid.uuid4().hex)
        writer.session = session
        return reader, writer

    def _claim(self, stack: ExitStack, head: list[Chunk], started: float) -> ResultStore:
        """Rank 0's set-up. A folder holding another run (other settings, or other data in the first
        batches) is refused before anything in it is written."""
        _make_folder(self.out)
        refuse_links(self.out, layout.RUN_FILES)
        stack.enter_context(exclusive(self.out))
        read_previous(self.out)  # a run.json out of shape is refused before anything in the folder changes
        store = ResultStore(self.out / layout.RESULTS_DB, self.argv)
        stack.callback(store.close)
        settings = asdict(self.config)
        identity = {k: settings[k] for k in IDENTITY_KEYS}
        self._refuse_other(identity, store.get_meta("identity"))
        self._merge_shards(store)  # what the ranks of a killed torchrun run committed
        check = DatasetCheck(store, self.out)
        for chunk in head:
            check.check(chunk)
        self._refuse_other(identity, store.open_session(identity))  # atomic against a second writer
        self.main = store
        for name in layout.DERIVED:
            (self.out / name).unlink(missing_ok=True)
        self._exports().write_run_json(store, self._timings(started), finished=False)
        if self.world.distributed:
            store.checkpoint()  # the ranks read it without locks while nobody writes it
        return store

    def _refuse_other(self, identity: dict[str, Any], stored: dict[str, Any] | None) -> None:
        if stored is None or all(stored.get(k) == v for k, v in identity.items()):
            return
        key = next(k for k, v in identity.items() if stored.get(k) != v)
        raise InpaintbenchError(
            f"{self.out} holds a run with {key}={stored.get(key)!r}, not {identity[key]!r}: "
            "use another --out, or the same settings to resume"
        )

    def _merge_shards(self, store: ResultStore) -> None:
        """Fold every rank's store into the folder's (those of this run, or of one that was killed)."""
        folder = self.out / layout.SHARDS_DIR
        for shard in sorted(folder.glob("rank-*.sqlite")) if folder.is_dir() else []:
            store.merge(shard)
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()

    def _run(
        self, reader: ResultStore, writer: ResultStore, head: list[Chunk], stream: Stream, started: float
    ) -> RunOutcome:
        failures = Failures(writer, self.errors, self.log)
        scoring = Scoring(self.plan.metrics, failures, self.timings)
        scoring.setup(self.device)
        steps = {
            spec: ModelStep(
                spec, self.plan, self.device, failures, self.timings, self.log, self.progress, self.threads
            )  # fmt: skip
            for spec in self.config.models
        }
        check = DatasetCheck(reader, self.out)
        self._pass(itertools.chain(head, iter(stream.next, None)), check, steps, scoring, reader, writer)
        reached = max(self.world.gather(stream.last_position)) + 1
        infos = self.world.gather({spec: info for spec, step in steps.items() if (info := step.info())})
        if self.world.distributed:
            writer.close()
        self.world.barrier()  # every rank's store is complete and closed
        if not self.world.leader:
            return self._follow()
        store = self.main
        self._merge_shards(store)
        check.finish(store, reached)
        exports = self._exports()
        for found in reversed(infos):
            exports.model_info.update(found)
        scoring.failures = Failures(store, self.errors, self.log)
        scoring.compute_sets(store, self.config.models, self.config.masks)
        outcome = exports.finish(store, self._timings(started))
        self._render_report()
        self.world.share((outcome.incomplete, bool(outcome.failures)))
        return outcome

    def _render_report(self) -> None:
        """The HTML report, rendered from the folder's files like any ``inpaintbench report``."""
        from ..report import render

        try:
            render([self.out], self.out, own_run=True)
        except DiskFull:
            raise
        except Exception as exc:  # the results are on disk already; a report problem must not hide them
            self.log(f"warning: the HTML report could not be written: {type(exc).__name__}: {exc}")

    def _follow(self) -> RunOutcome:
        """A rank other than 0 after its work: rank 0's verdict, so every rank exits alike."""
        incomplete, failed = self.world.share(None)
        return RunOutcome(self.out, "", 0, [{}] if failed else [], incomplete)

    def _pass(
        self,
        chunks: Iterator[Chunk],
        check: DatasetCheck,
        steps: dict[str, ModelStep],
        scoring: Scoring,
        reader: ResultStore,
        writer: ResultStore,
    ) -> None:
        """The one pass over the data: each batch checked against the folder, listed, then every model and
        regime on it. The models run here; the metrics on a thread of their own (torch releases the GIL),
        so the next model's batch overlaps the last one's scoring; PNGs on the writers."""
        pending = 2 * self.config.batch_size + 8  # PNGs queued: about two batches' worth
        pngs = PngWriter(PNG_THREADS, pending) if self.config.save_images else None
        saver = Saver(self.out, writer, pngs)
        scorer = Background("score", 1, pending=1, initializer=partial(_use_device, self.device))
        # With OpenMP a thread keeps the intra-op count torch has when it first asks for it; ask now, on
        # the evaluation's count, before any prepare raises it (``ModelStep.ready``).
        scorer.submit(torch.get_num_threads).result()
        skipped = 0
        trimmer = Trimmer()
        total = self.config.limit if not self.world.distributed else None
        bar = tqdm(
            total=total, desc="images", unit="img", disable=not self.progress, leave=False, file=sys.stderr
        )
        try:
            while True:
                t0 = time.perf_counter()
                chunk = next(chunks, None)
                self.timings["load_wait_s"] += time.perf_counter() - t0
                if chunk is None:
                    break
                check.check(chunk)
                writer.add_listed(chunk.reached)
                for entry in self.plan.dataset.skipped[skipped:]:
                    writer.add_event("skipped_input", entry)
                skipped = len(self.plan.dataset.skipped)
                if chunk.items:
                    self._batch(chunk, steps, scoring, scorer, reader, writer, saver)
                bar.update(len(chunk.items))
                trimmer.tick()
            scorer.close()
            saver.flush(block=True)
        finally:
            bar.close()
            scorer.close()
            saver.close()
            self.timings["load_wait_s"] = round(self.timings["load_wait_s"], 3)

    def _batch(
        self,
        chunk: Chunk,
        steps: dict[str, ModelStep],
        scoring: Scoring,
        scorer: Background,
        reader: ResultStore,
        writer: ResultStore,
        saver: Saver,
    ) -> None:
        """Every model and regime on the images of one batch that lack a row."""
        ids = chunk.image_ids
        with torch.inference_mode():
            images = _batch_tensor([item.image for item in chunk.items], self.device)
            holes = {
                regime: _batch_tensor(
                    [item.masks.masks[regime][..., None] for item in chunk.items], self.device
                )
                for regime in self.plan.masks
            }
        inputs = saver.inputs(chunk)
        if saver.pngs is None:
            for item in chunk.items:
                item.image = None  # held by the batch tensor now; the ground truth is not written
        if scoring.groups:  # the ground truth's features, once per image, on the scoring thread
            saver.add(None, [scorer.submit(partial(scoring.real_features, images, ids, reader, writer))])
        for spec, step in steps.items():
            for regime in self.plan.masks:
                if not step.runs(regime):
                    continue
                done = reader.done_among(spec, regime, ids, *scoring.needs)
                todo = [k for k, image_id in enumerate(ids) if image_id not in done]
                if not todo or not step.ready(scorer.drain):
                    continue
                t0 = time.perf_counter()
                index = torch.tensor(todo, device=images.device) if len(todo) < len(ids) else None
                x = images if index is None else images.index_select(0, index)
                h = holes[regime] if index is None else holes[regime].index_select(0, index)
                items = [chunk.items[k] for k in todo]
                try:
                    pred, checkpoint = step.inpaint(x, h, [item.image_id for item in items], regime)
                except ModelFailed as exc:  # InvalidOutput or a model bug: recorded, the other models go on
                    step.fail(regime, exc.__cause__ or exc)
                    continue
                finally:
                    spent = self.timings["eval_s"].setdefault(spec, {}).get(regime, 0.0)
                    self.timings["eval_s"][spec][regime] = round(spent + time.perf_counter() - t0, 3)
                job = partial(self._score, step.spec, regime, items, pred, x, h, checkpoint, scoring, saver)
                saver.add(scorer.submit(job), inputs)

    def _score(
        self,
        model: str,
        regime: str,
        items: list[Item],
        pred: torch.Tensor,
        images: torch.Tensor,
        holes: torch.Tensor,
        checkpoint: str,
        scoring: Scoring,
        saver: Saver,
    ) -> tuple[list[Row], list[Future[None]]]:
        """On the scoring thread: one model's scored batch under one regime as rows, and the writes of its
        prediction PNGs, which the rows wait for."""
        scores = scoring.score(pred, images, holes, model, regime)
        features = scoring.features(pred, model, regime)
        writes = []
        if saver.pngs is not None:
            pixels = to_uint8(
                pred.permute(0, 2, 3, 1).float().cpu().numpy()
            )  # a quarter of the memory queued
            writes = saver.predictions(model, regime, [item.image_id for item in items], pixels)
        rows = [
            Row(
                model,
                regime,
                item.image_id,
                float(item.masks.masks[regime].mean()),
                checkpoint,
                {name: values[k] for name, values in scores.items()},
                {key: vectors[k] for key, vectors in features.items()},
            )
            for k, item in enumerate(items)
        ]
        return rows, writes

    # -- outputs ------------------------------------------------------------------------------------
    def _exports(self) -> Exports:
        return Exports(self.plan, self.argv, str(self.device), self.world.size, self.log)

    def _timings(self, started: float) -> dict[str, Any]:
        return dict(self.timings, total_s=round(time.perf_counter() - started, 3))


def _device(name: str, world: World) -> torch.device:
    """The run's device; under torchrun a CUDA device without an index is the rank's own GPU."""
    try:
        device = resolve_device(name)
    except RuntimeError as exc:  # torch's own refusal of a malformed name such as cpu:x
        raise InpaintbenchError(f"--device {name!r}: {one_line(exc)}") from None
    if world.distributed and device.type == "cuda" and device.index is None:
        device = torch.device("cuda", world.local_rank % torch.cuda.device_count())
    if device.type == "cuda" and device.index is not None:
        torch.cuda.set_device(device)
    return device


def _use_device(device: torch.device) -> None:
    """A thread's current CUDA device is its own: the scoring thread's is the run's."""
    if device.type == "cuda" and device.index is not None:
        torch.cuda.set_device(device)


def _batch_tensor(arrays: list[np.ndarray], device: torch.device) -> torch.Tensor:
    """H x W x C numpy arrays -> one fresh contiguous float32 N x C x H x W tensor on ``device``, each
    array copied once, straight into place."""
    height, width, channels = arrays[0].shape
    batch = torch.empty((len(arrays), channels, height, width), dtype=torch.float32)
    for k, array in enumerate(arrays):
        batch[k].copy_(torch.from_numpy(array).permute(2, 0, 1))
    return batch.to(device)


def _make_folder(out: Path) -> None:
    try:
        with writing(out):
            out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InpaintbenchError(f"cannot create the output folder {out}: {exc.strerror}") from None
