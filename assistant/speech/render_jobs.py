"""The one way a rendering thread carries out a queued job: the engines' threads share it,
so a cancelled line is skipped and a failed one fails its own future, never the thread.

The future stays pending while its job runs, so a line silenced meanwhile is still
cancelled at once (its audio is dropped when it comes), and a job that looks at
`future.cancelled()` between sentences can give up early instead of keeping the next
line waiting."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")


def fulfil(job: Callable[[], T], future: Future[T]) -> None:
    if future.cancelled():
        return
    try:
        result = job()
    except BaseException as error:
        if future.set_running_or_notify_cancel():
            future.set_exception(error)
        return
    if future.set_running_or_notify_cancel():
        future.set_result(result)
