"""What a webhook URL or an event starts, remembered for a moment.

A busy webhook would otherwise cost two reads per call, and a busy event three to five (its
listeners, the configs that enable public workflows, its schemas), for answers that rarely
change. This process forgets every entry at once whenever it publishes, unpublishes or deletes a
workflow, deletes a linked account, or changes a config or an event's definition; a change made
by another process is seen within `TTL_S`.
"""

from __future__ import annotations

from weft.store.brief_cache import BriefCache

TTL_S = 1.0

LIVE_STARTS = BriefCache(TTL_S)
