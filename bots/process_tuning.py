"""The interpreter's settings for a long-running bot process, applied once it has started:
the garbage collector's and the thread switch interval."""

from __future__ import annotations

import functools
import gc
import sys

# The interpreter's own threshold for the youngest generation (CPython 3.11-3.13).
INTERPRETER_YOUNG_THRESHOLD = 700
# Allocations (less deallocations) between two collections of the youngest generation.
YOUNG_THRESHOLD = 20_000
# The interpreter's own switch interval, and the bot's: how long a thread that holds the GIL
# keeps it while another waits for it (seconds).
INTERPRETER_SWITCH_INTERVAL = 0.005
SWITCH_INTERVAL = 0.0005


@functools.cache
def tune_process() -> int:
    """Freeze the start-up heap, collect the young generation less often and let a thread
    waiting for the GIL have it sooner; the number of objects frozen. Only the first call
    in a process does anything.

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

    The switch interval: the store's sqlite calls run on a thread of their own, and each
    statement lets go of the GIL while sqlite works, then waits to have it back. While the
    event loop is busy (1,000 answers streaming, or a plugin computing), that wait lasts
    until the loop's thread is made to let go, every 5 ms by default, and the loop's thread
    often takes it back first. With a task on the loop computing 1 ms between yields, a
    store call took 1.1 s at the median and 3.9 s at most (12 calls; in a shorter run one
    ran into the store's 5 s timeout, which tells the user their message failed); at 0.5 ms,
    6.4 ms and 12 ms (``python -m benchmarks.store_calls``). In the bridge benchmark at
    1,000 chats, store calls took 46-56 ms at the median and 485-712 ms at p99 where they
    had taken 62-83 and 835-856 (two runs each, alternating). A switch interval the program
    set itself is kept.
    """
    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    if young == INTERPRETER_YOUNG_THRESHOLD:
        gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    if sys.getswitchinterval() == INTERPRETER_SWITCH_INTERVAL:
        sys.setswitchinterval(SWITCH_INTERVAL)
    return gc.get_freeze_count()
