"""Every migration's upgrade only expands the schema, so the release before it keeps running on
it during a rolling upgrade (docs/upgrades.md). A contract step (a drop, a rename, a tightened
column) is allowed only in a migration listed in CONTRACTS with the release whose code stopped
using what it removes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from weft.store.migrate import MIGRATIONS_DIR

pytestmark = pytest.mark.unit

# revision -> why the previous release no longer needs what its upgrade removes or tightens.
CONTRACTS: dict[str, str] = {}

REMOVING = {"drop_table", "drop_column", "rename_table", "drop_constraint", "drop_table_comment"}
# alter_column may only relax: make a column nullable, nothing else.
RELAXING = {"existing_type", "existing_nullable", "existing_server_default", "nullable", "comment"}


def contract_steps(source: str) -> list[str]:
    """The steps of `upgrade()` in a migration's source that an older release may not survive."""
    tree = ast.parse(source)
    upgrade = next(f for f in tree.body if isinstance(f, ast.FunctionDef) and f.name == "upgrade")
    found = []
    for call in ast.walk(upgrade):
        if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Attribute):
            continue
        name, keywords = call.func.attr, {k.arg: k.value for k in call.keywords}
        if name in REMOVING:
            found.append(f"line {call.lineno}: {name}")
        elif name == "alter_column":
            nullable = keywords.get("nullable")
            relaxes = isinstance(nullable, ast.Constant) and nullable.value is True
            if not relaxes or set(keywords) - RELAXING:
                found.append(f"line {call.lineno}: alter_column other than making it nullable")
        elif name == "add_column" and call.args and _required_without_default(call.args[0]):
            found.append(f"line {call.lineno}: add_column NOT NULL without a server default")
    return sorted(found, key=lambda step: int(step.split(":")[0].removeprefix("line ")))


def _required_without_default(column: ast.expr) -> bool:
    if not isinstance(column, ast.Call):
        return False
    keywords = {k.arg: k.value for k in column.keywords}
    nullable = keywords.get("nullable")
    required = isinstance(nullable, ast.Constant) and nullable.value is False
    return required and "server_default" not in keywords


def migrations() -> list[Path]:
    return sorted((MIGRATIONS_DIR / "versions").glob("*.py"))


@pytest.mark.parametrize("path", migrations(), ids=lambda path: path.stem)
def test_each_migration_only_expands_unless_it_is_a_listed_contract(path: Path) -> None:
    steps = contract_steps(path.read_text())
    revision = path.stem.split("_", 1)[0]
    if revision in CONTRACTS:
        assert steps, f"{path.name} is listed in CONTRACTS but contracts nothing"
    else:
        assert steps == [], f"{path.name} contracts the schema the previous release uses: {steps}"


def test_the_rule_catches_a_drop_a_rename_a_tightening_and_a_required_column() -> None:
    source = """
def upgrade():
    op.create_table("new", sa.Column("id", sa.String(24), nullable=False))
    with op.batch_alter_table("t") as batch_op:
        batch_op.add_column(sa.Column("fine", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("flag", sa.Boolean(), nullable=False, server_default="0"))
        batch_op.alter_column("loose", existing_type=sa.String(24), nullable=True)
        batch_op.add_column(sa.Column("needed", sa.Integer(), nullable=False))
        batch_op.drop_column("old")
        batch_op.alter_column("tight", existing_type=sa.String(24), nullable=False)
        batch_op.alter_column("wider", type_=sa.Text())
    op.rename_table("a", "b")

def downgrade():
    op.drop_table("new")
"""
    assert contract_steps(source) == [
        "line 8: add_column NOT NULL without a server default",
        "line 9: drop_column",
        "line 10: alter_column other than making it nullable",
        "line 11: alter_column other than making it nullable",
        "line 12: rename_table",
    ]
