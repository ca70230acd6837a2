"""Running a block of torch work on another number of threads, and restoring the count after."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


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
