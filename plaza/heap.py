"""The garbage collector's view of a long-running server.

Everything loaded at start-up (models, bots, modules: over 100,000 tracked objects) lives as
long as the process, yet each full collection would walk it again, stopping every conversation
in flight for tens of milliseconds: the slowest one percent of turns were those pauses
(bench/load.py). Frozen once ready, it is left out of later collections, which then walk only
what serving creates.
"""

from __future__ import annotations

import gc


def settle_heap() -> None:
    """Collect what start-up left behind, then exempt the survivors from future collections."""
    gc.collect()
    gc.freeze()
