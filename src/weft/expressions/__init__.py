"""Expressions: `{{ }}` templates, JSONata parsing, and the node references they contain.

Evaluation with time and depth limits is not here yet; see the notes in `syntax.py`.
"""

from weft.expressions.references import referenced_nodes
from weft.expressions.syntax import ExpressionSyntaxError, parse_expression
from weft.expressions.templates import (
    TemplateExpression,
    TemplatePart,
    TemplateSyntaxError,
    find_templates,
    has_templates,
    is_single_template,
    parse_template,
)

__all__ = [
    "ExpressionSyntaxError",
    "TemplateExpression",
    "TemplatePart",
    "TemplateSyntaxError",
    "find_templates",
    "has_templates",
    "is_single_template",
    "parse_expression",
    "parse_template",
    "referenced_nodes",
]
