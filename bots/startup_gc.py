"""The garbage collector's settings for a long-running bot, applied once it has started."""

from __future__ import annotations

import functools
import gc

# The interpreter's own threshold for the youngest generation (CPython 3.11-3.13).
INTERPRETER_YOUNG_THRESHOLD = 700
# Allocations (less deallocations) between two collections of the youngest generation.
YOUNG_THRESHOLD = 20_000


@functools.cache
def settle_collector() -> int:
    """Freeze the start-up heap and collect the young generation less often; the number of
    objects frozen. Only the first call in a process does anything.

    The freeze: collect once, then move every object alive now into the collector's
    permanent generation (``gc.freeze``). A started bot holds ~54,000 objects it keeps for
    its whole life (modules, classes, functions, config), and a full collection scanned
    them all again each time it ran; in the bridge benchmark at 100 chats one took 56 ms, a
    stall of the event loop, and half the objects it walked were this start-up heap. Once
    frozen they are skipped: the collection walks what the answers hold. A frozen object is
    still freed when the last reference to it goes; only a reference cycle among frozen
    objects is never reclaimed. That is why this runs once, after start-up, when what is
    alive is what the bot keeps anyway (the adapters are connected by then, so a question
    that arrived meanwhile may be frozen mid-answer: its objects are freed as usual when it
    ends, bar any cycle among them).

    The threshold: the interpreter collects the youngest generation every 700 new
    container objects, and each collection moves what is still alive (a question's
    requests and tasks, mid-flight) into the older generations, whose growth then sets off
    full collections. When 1,000 questions come at once the bot makes hundreds of thousands
    of short-lived objects in a few seconds: at 700 the collector took 1.1-1.4 s of the
    3.3-4.4 s of CPU the bot spent until every answer was read, at 20,000 0.29-0.43 s
    (``python -m benchmarks.bridge.bot --replies 1000 --words 1``, three runs each). The
    other two thresholds stay, and so does a first threshold the program set itself.
    """
    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    if young == INTERPRETER_YOUNG_THRESHOLD:
        gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    return gc.get_freeze_count()
