"""Python's cyclic garbage collector kept off what lives as long as the program: paused
while the console starts, and what a batch starts with frozen before it runs.

Start-up makes hundreds of thousands of objects — modules, classes, Textual's styles, the
settings' validators — that live as long as the program, and the collector would scan them
again and again while they are made (about a sixth of the start-up's time on the floor's
machines, measured by ``bench/startup.py``). So the console pauses collection from its first
line until it is ready (or knows it cannot be), then moves what start-up made out of the
collector's sight (:func:`gc.freeze`: later collections no longer scan it) and collects as
usual from then on.

Only the program pauses it; resuming without a pause does nothing, so an app built by a
test or a script never freezes that process's objects.
"""

from __future__ import annotations

import gc
import threading

_lock = threading.Lock()
_paused = False


def pause() -> None:
    """Stop automatic collection until :func:`resume` (no-op if collection is already off)."""
    global _paused
    with _lock:
        if gc.isenabled():
            gc.disable()
            _paused = True


def resume() -> None:
    """End a :func:`pause`: freeze what start-up made and collect automatically again. Safe
    to call more than once and from any thread; does nothing without a pause."""
    global _paused
    with _lock:
        if not _paused:
            return
        _paused = False
        gc.freeze()
        gc.enable()


def is_paused() -> bool:
    return _paused


def freeze_long_lived() -> None:
    """Before a long run (a batch): collect once, then keep everything that exists now out
    of later collections — the full collections thousands of orders trigger then scan only
    what the run itself made."""
    gc.collect()
    gc.freeze()
