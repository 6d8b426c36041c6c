"""An API caller waiting on a run it started: until the run answers, ends, or the bound passes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from weft.engine.runs.history import get_execution
from weft.engine.runs.run_views import RunView, read_run
from weft.engine.starts.direct import StartedRun
from weft.engine.workers.answers import RunAnswer
from weft.store.scope import Scope

if TYPE_CHECKING:
    from weft.engine.workers.services import Services


async def wait_for_answer(
    services: Services,
    scope: Scope,
    run: StartedRun,
    *,
    until_response: bool,
) -> RunAnswer:
    """The run's answer once it ends (or responds); as it stands when the sync bound passes.
    Either way its `id` may be handed out: the run's row is written."""
    answer = await run.answer(
        services.answers,
        services.db,
        until_response=until_response,
        timeout_s=services.settings.sync_timeout_s,
    )
    if answer is not None:
        return answer
    execution_id = await run.durable_id()  # goes out with the 202
    async with services.db.reading() as session:
        return RunAnswer.of(await get_execution(scope, execution_id, session=session))


async def wait_for_run(
    services: Services,
    scope: Scope,
    execution_id: str,
    *,
    until_response: bool,
) -> RunView:
    """Like `wait_for_answer`, then the whole run with its steps (for callers that show it all)."""
    written = StartedRun.written(execution_id)
    await wait_for_answer(services, scope, written, until_response=until_response)
    return await read_run(services.db, scope, execution_id)
