"""Where torch computes: one thread for the whole process, and how many OpenMP threads it uses.

Torch's OpenMP runtime gives each thread that starts a parallel region a team of helper threads of
its own, and while two such teams exist every parallel region costs more: on a quiet 2-core EPYC a
decoding step with 2 threads ran at 88 tokens/s on the only thread that computed, and at 35 tokens/s
once another thread had computed too (bench/decode_threads.py), slower than with one thread (65). Replies were generated on a fresh thread per request after the model had loaded on
the caller's, so a second core only ever slowed them down. Loading, generation, embedding and
reranking therefore run on one long-lived thread, whichever thread asks for them; so does FAISS
when it uses more than one thread (its OpenMP calls bind to torch's runtime, loaded first: a
4-query search on another thread halved decoding speed just the same).

Rule for callers: take locks inside the function handed over, never around the call, or a thread
holding the lock waits for the torch thread while the torch thread waits for the lock.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")


class TorchThread:
    """A daemon thread that runs the functions handed to it one at a time, in order."""

    def __init__(self, name: str = "torch") -> None:
        self.name = name
        self._reset()
        # A forked child has none of its parent's threads: it starts its own at its first task.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._tasks: queue.SimpleQueue[tuple[Future, Callable[[], Any]]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def is_current(self) -> bool:
        return threading.current_thread() is self._thread

    def submit(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
        """Queue ``fn(*args, **kwargs)``; on the torch thread itself it runs at once (queueing would wait forever)."""
        future: Future[T] = Future()
        if self.is_current():
            _settle(future, lambda: fn(*args, **kwargs))
            return future
        with self._start_lock:
            if self._thread is None:
                # A daemon: an interpreter that is exiting does not wait for a reply being generated.
                self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
                self._thread.start()
        self._tasks.put((future, lambda: fn(*args, **kwargs)))
        return future

    def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` computed on the torch thread: its result, or its exception raised here."""
        return self.submit(fn, *args, **kwargs).result()

    def _serve(self) -> None:
        while True:
            future, call = self._tasks.get()
            if future.set_running_or_notify_cancel():
                _settle(future, call)


def _settle(future: Future, call: Callable[[], Any]) -> None:
    try:
        result = call()
    except BaseException as error:  # handed to whoever waits on the future, which raises it
        future.set_exception(error)
    else:
        future.set_result(result)


# The process's torch thread. A thread count set with torch.set_num_threads before its first use
# carries over to it (torch copies the last count into each new thread); to change it later, run
# torch.set_num_threads on it.
TORCH = TorchThread()


@contextlib.contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """Torch uses `count` threads inside the block (None or 0: as it is); the setting is restored after.

    The setting belongs to the calling thread, so other threads are not affected.
    """
    if not count:
        yield
        return
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
