"""Export and import of workflow files, and an org's public workflows pushed and pulled as a
directory of them (`weft org push/pull`). Session-taking: the caller owns the transaction.

Import checks a whole file before it creates anything and lists every problem at once. A
file must be publishable but for connections: an app the account has not connected stays a
`CONNECTION_REQUIRED` draft problem. Push applies a changed file as a new draft published at
once (a new version: the previous one stays restorable); a file equal to the live version
changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from weft.errors import GraphInvalid, InvalidInput, NotFound
from weft.store.scope import OrgScope, PublicScope, Scope, scoped_select
from weft.store.tables import App, Workflow, WorkflowVersion
from weft.workflows import files, records, versions
from weft.workflows.files import FileProblem, WorkflowFile
from weft.workflows.graph import GraphShapeError, normalize_graph
from weft.workflows.public import check_draft_settings, check_publishable
from weft.workflows.validation import validate_for_publish

if TYPE_CHECKING:  # service calls this module
    from weft.workflows.service import ResolveApp

# A version's nodes, edges and settings.
Shown = tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]


async def _shown_version(scope: Scope, workflow: Workflow, *, session: AsyncSession) -> Shown:
    """The version a file shows: the live one, else (never published) the draft."""
    shown = await versions.live_version(scope, workflow, session=session)
    if shown is None and workflow.draft_id is not None:
        shown = await session.scalar(
            scoped_select(WorkflowVersion, scope).where(WorkflowVersion.id == workflow.draft_id)
        )
    if shown is None:
        return [records.start_node()], [], {}
    return list(shown.nodes), list(shown.edges), dict(shown.settings or {})


def _file_of(workflow: Workflow, app: App, shown: Shown, key: str | None) -> dict[str, Any]:
    nodes, edges, settings = shown
    return files.document(
        name=workflow.name,
        description=workflow.description,
        app=app.slug,
        nodes=nodes,
        edges=edges,
        settings=settings,
        key=key,
    )


def _stored_key(shown: Shown) -> str | None:
    key = shown[2].get(files.FILE_KEY_SETTING)
    return key if isinstance(key, str) and files.KEY.match(key) else None


async def export_workflow(scope: Scope, workflow_id: str, *, session: AsyncSession) -> dict:
    """The file of the caller's workflow (its key only once a file has set one)."""
    workflow = (await records.locate_workflow(scope, workflow_id, session=session)).workflow
    app = (await records.apps_by_id({workflow.app_id}, session=session))[workflow.app_id]
    shown = await _shown_version(scope, workflow, session=session)
    return _file_of(workflow, app, shown, _stored_key(shown))


def _normalized(found: WorkflowFile) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    graph = normalize_graph(found.nodes, found.edges)
    return graph.nodes_json(), graph.edges_json()


async def _problems(
    scope: Scope,
    found: WorkflowFile,
    *,
    publish: bool,
    resolve_app: ResolveApp,
    catalog_problems: versions.CatalogProblems,
    session: AsyncSession,
) -> tuple[App | None, list[FileProblem]]:
    """Everything importing `found` would refuse (connections only when it is to be published)."""
    problems = list(found.problems)
    app = None
    try:
        app = await resolve_app(scope.org_id, slug=found.app, session=session)
    except NotFound:
        problems.append(FileProblem("$.app", "UNKNOWN_APP", f"no app {found.app[:100]!r}"))
    try:
        check_draft_settings(scope, found.settings)
    except InvalidInput as error:
        problems.append(FileProblem("$.settings", error.error_code, error.message))
    try:
        check_publishable(scope, found.nodes)
    except InvalidInput as error:
        problems.append(FileProblem("$.nodes", error.error_code, error.message))
    try:
        graph = normalize_graph(found.nodes, found.edges)
    except GraphShapeError as error:  # read_document checks the same shape: a safety net
        return app, problems + [files.graph_problem(p, found.nodes) for p in error.problems]
    graph_problems = validate_for_publish(graph)
    if app is not None:
        holder = Workflow(app_id=app.id)  # not added: the checks only read its app
        graph_problems += await catalog_problems(scope, holder, graph, session=session)
    problems += [
        files.graph_problem(problem, found.nodes)
        for problem in graph_problems
        if publish or problem.code not in files.DRAFT_ONLY
    ]
    return app, problems


def refuse(problems: list[FileProblem], what: str = "The workflow file") -> GraphInvalid:
    """Refold's 422 envelope listing every problem with its JSON path."""
    return GraphInvalid(
        f"{what} has {len(problems)} problem(s): nothing was changed",
        error_code="INVALID_WORKFLOW_FILE",
        details={"errors": [problem.to_dict() for problem in problems]},
    )


def read_or_refuse(raw: Any) -> WorkflowFile:
    """The file's contents, or the 422 listing every problem of its shape."""
    found = files.read_document(raw)
    if isinstance(found, list):
        raise refuse(found)
    return found


async def import_workflow(
    scope: Scope,
    raw: Any,
    *,
    publish: bool,
    resolve_app: ResolveApp,
    catalog_problems: versions.CatalogProblems,
    session: AsyncSession,
) -> tuple[Workflow, WorkflowVersion | None]:
    """A new workflow from a file: a draft, or (publish) version 1 live; 422 lists every problem."""
    found = read_or_refuse(raw)
    app, problems = await _problems(
        scope,
        found,
        publish=publish,
        resolve_app=resolve_app,
        catalog_problems=catalog_problems,
        session=session,
    )
    if problems or app is None:
        raise refuse(problems)
    return await _write(
        scope, None, found, app, publish=publish, catalog_problems=catalog_problems, session=session
    )


async def _write(
    scope: Scope,
    workflow: Workflow | None,
    found: WorkflowFile,
    app: App,
    *,
    publish: bool,
    catalog_problems: versions.CatalogProblems,
    session: AsyncSession,
) -> tuple[Workflow, WorkflowVersion | None]:
    """`found` as a new workflow (None) or `workflow`'s next draft, published when asked."""
    if workflow is None:
        workflow, _ = await records.create_workflow(
            scope, name=found.name, app=app, description=found.description, session=session
        )
    else:
        workflow.name, workflow.description = found.name, found.description
    settings = dict(found.settings)
    if found.key is not None:
        settings[files.FILE_KEY_SETTING] = found.key
    workflow, draft = await versions.save_draft(
        scope, workflow.id, nodes=found.nodes, edges=found.edges, settings=settings, session=session
    )
    if not publish:
        return workflow, draft
    workflow = await versions.set_published(
        scope, workflow.id, True, catalog_problems=catalog_problems, session=session
    )
    return workflow, None


async def _public_files(
    public: PublicScope, *, session: AsyncSession
) -> dict[str, tuple[Workflow, dict[str, Any]]]:
    """The org's public workflows with their files, by key (file name).

    A workflow's key is the one a file set, else its name's (`-2`, `-3`... for repeats, oldest
    first), so pulling twice names every file the same."""
    rows = list(
        await session.scalars(
            scoped_select(Workflow, public).order_by(Workflow.created_at, Workflow.id)
        )
    )
    apps = await records.apps_by_id({w.app_id for w in rows}, session=session)
    shown = {w.id: await _shown_version(public, w, session=session) for w in rows}
    keys: dict[str, str] = {}
    for workflow in rows:
        key = _stored_key(shown[workflow.id])
        if key is not None and key not in keys.values():
            keys[workflow.id] = key
    taken = set(keys.values())
    for workflow in rows:
        if workflow.id not in keys:
            base = files.key_of_name(workflow.name)
            key, n = base, 1
            while key in taken:
                n += 1
                key = f"{base[:90]}-{n}"
            keys[workflow.id] = key
            taken.add(key)
    found = {keys[w.id]: (w, _file_of(w, apps[w.app_id], shown[w.id], keys[w.id])) for w in rows}
    return dict(sorted(found.items()))


async def public_workflows(scope: OrgScope, *, session: AsyncSession) -> dict[str, dict]:
    """The org's public workflows in the scope's environment as files, by key, sorted."""
    public = PublicScope(scope.org_id, scope.environment)
    return {key: doc for key, (_, doc) in (await _public_files(public, session=session)).items()}


@dataclass
class PushReport:
    """What a push did, by key."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    not_in_files: list[str] = field(default_factory=list)
    changes: dict[str, list[str]] = field(default_factory=dict)  # updated key: what changed

    @property
    def changed(self) -> int:
        return len(self.created) + len(self.updated)


async def push_public(
    scope: OrgScope,
    documents: dict[str, Any],
    *,
    resolve_app: ResolveApp,
    catalog_problems: versions.CatalogProblems,
    session: AsyncSession,
) -> PushReport:
    """Make the org's public workflows match `documents` (by key: a file's name without
    `.json`); every file is checked first and any problem refuses the whole push."""
    public = PublicScope(scope.org_id, scope.environment)
    current = await _public_files(public, session=session)
    report = PushReport(not_in_files=sorted(set(current) - set(documents)))
    problems: list[FileProblem] = []
    plan: list[tuple[str, Workflow | None, WorkflowFile, App]] = []
    for key, raw in sorted(documents.items()):
        if not files.KEY.match(key):
            detail = "a file's name (its key) is lower-case letters, digits and dashes"
            problems += _in_file(key, [FileProblem("$", "INVALID_KEY", detail)])
            continue
        found = files.read_document(raw)
        if isinstance(found, list):
            problems += _in_file(key, found)
            continue
        if found.key is not None and found.key != key:
            detail = f"the file is named {key}.json but its key is {found.key!r}"
            problems += _in_file(key, [FileProblem("$.key", "KEY_MISMATCH", detail)])
            continue
        found.key = key
        workflow, shown = current.get(key, (None, None))
        if shown is not None:
            report.changes[key] = _differences(shown, found)
            if not report.changes[key]:
                del report.changes[key]
                report.unchanged.append(key)
                continue
        app, found_problems = await _problems(
            public,
            found,
            publish=True,
            resolve_app=resolve_app,
            catalog_problems=catalog_problems,
            session=session,
        )
        if workflow is not None and app is not None and workflow.app_id != app.id:
            detail = "a workflow's app cannot change: give the file a new name to add a workflow"
            found_problems.append(FileProblem("$.app", "APP_CHANGED", detail))
        problems += _in_file(key, found_problems)
        if app is not None and not found_problems:
            plan.append((key, workflow, found, app))
    if problems:
        raise refuse(problems, "The directory")
    for key, workflow, found, app in plan:
        await _write(
            public,
            workflow,
            found,
            app,
            publish=True,
            catalog_problems=catalog_problems,
            session=session,
        )
        (report.updated if workflow is not None else report.created).append(key)
    return report


def _in_file(key: str, problems: list[FileProblem]) -> list[FileProblem]:
    return [FileProblem(f"{key}.json: {p.path}", p.code, p.message) for p in problems]


def _differences(current: dict[str, Any], found: WorkflowFile) -> list[str]:
    """What a file changes in the workflow (after the same normalisation): the fields, and for
    the graph which nodes; empty when the file says what the workflow already is."""
    try:
        nodes, edges = _normalized(found)
    except ValueError:
        return ["nodes"]
    wanted = files.document(
        name=found.name,
        description=found.description,
        app=found.app,
        nodes=nodes,
        edges=edges,
        settings=found.settings,
        key=found.key,
    )
    old, new = files.content(current), files.content(wanted)
    changed = [name for name in sorted(old.keys() | new.keys()) if old.get(name) != new.get(name)]
    if "nodes" in changed:
        before = {n.get("id"): n for n in old.get("nodes", [])}
        after = {n.get("id"): n for n in new.get("nodes", [])}
        ids = sorted(i for i in before.keys() | after.keys() if before.get(i) != after.get(i))
        changed[changed.index("nodes")] = "nodes " + ", ".join(map(str, ids)) if ids else "nodes"
    return changed
