import pytest

from weft.expressions import (
    TemplateExpression,
    TemplateSyntaxError,
    find_templates,
    is_single_template,
    parse_template,
)

pytestmark = pytest.mark.unit


def test_finds_every_template_in_a_string():
    text = "Hello {{ trigger.name }}, you owe {{nodes.invoice.body.total}} EUR"
    assert find_templates(text) == ["trigger.name", "nodes.invoice.body.total"]


def test_plain_string_has_no_templates():
    assert find_templates("just text with } and { braces") == []


def test_template_splits_into_literal_and_expression_parts():
    assert parse_template("a {{ x }} b") == ["a ", TemplateExpression("x"), " b"]


def test_object_constructor_inside_template_does_not_end_it():
    assert find_templates('{{ {"a": {"b": 1}}.a.b }} tail') == ['{"a": {"b": 1}}.a.b']


def test_closing_braces_inside_string_literal_do_not_end_template():
    assert find_templates('{{ "}}" & x }}') == ['"}}" & x']


def test_unterminated_template_is_an_error():
    with pytest.raises(TemplateSyntaxError) as error:
        find_templates("ok {{ x }} then {{ broken")
    assert "position 16" in error.value.message


def test_single_template_keeps_json_type():
    assert is_single_template("{{ nodes.fetch.body }}")
    assert is_single_template("  {{nodes.fetch.body}}\n")


def test_template_mixed_with_text_is_not_single():
    assert not is_single_template("id: {{ x }}")
    assert not is_single_template("{{ a }}{{ b }}")
    assert not is_single_template("{{ a }} tail")
    assert not is_single_template("{{ unterminated")
    assert not is_single_template("no template")
