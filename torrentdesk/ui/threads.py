"""Blocking service calls (the database, a daemon) off the event loop, for the UI."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from nicegui import app, run

P = ParamSpec("P")
R = TypeVar("R")


async def io_bound(callback: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """`run.io_bound`, except that the app stopping cancels the caller: NiceGUI 3 returns None
    then (4.0 will raise CancelledError), which a page half-way through loading would take for
    the service's answer."""
    result = await run.io_bound(callback, *args, **kwargs)
    if app.is_stopping:
        raise asyncio.CancelledError
    return result  # type: ignore[return-value]  # None only while stopping
