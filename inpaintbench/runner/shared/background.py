"""A few threads with a bound on the work queued for them: how the run keeps stages off its critical path
without letting a fast producer pile up memory (each queued job holds a batch's tensors or pixels)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

T = TypeVar("T")


class Background:
    """``threads`` threads; ``submit`` blocks while ``pending`` jobs are queued or running already."""

    def __init__(
        self, name: str, threads: int, pending: int, initializer: Callable[[], Any] | None = None
    ) -> None:
        self._pool = ThreadPoolExecutor(max(1, threads), thread_name_prefix=f"inpaintbench-{name}",
                                        initializer=initializer)  # fmt: skip
        self._slots = threading.BoundedSemaphore(max(1, pending))
        self._closed = False
        self._running: set[Future[Any]] = set()

    def submit(self, job: Callable[[], T]) -> Future[T]:
        """Run ``job`` on a thread; its exception, if any, is raised by the future's ``result``."""
        self._slots.acquire()
        try:
            future = self._pool.submit(job)
        except BaseException:
            self._slots.release()
            raise
        self._running.add(future)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future[Any]) -> None:
        self._running.discard(future)
        self._slots.release()

    def drain(self) -> None:
        """Wait until every job submitted so far has ended (their results stay in their futures)."""
        wait(list(self._running))

    def close(self) -> None:
        """Wait for every job queued (each ends, whatever happened)."""
        if not self._closed:
            self._closed = True
            self._pool.shutdown(wait=True)
