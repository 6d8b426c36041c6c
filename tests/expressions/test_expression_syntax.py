import threading

import pytest

from weft.expressions import ExpressionSyntaxError, parse_expression

pytestmark = pytest.mark.unit


def test_valid_expression_compiles_and_evaluates():
    compiled = parse_expression("$sum(items.price)")
    assert compiled.evaluate({"items": [{"price": 2}, {"price": 3}]}) == 5


def test_bad_syntax_raises_clear_message():
    with pytest.raises(ExpressionSyntaxError) as error:
        parse_expression("nodes.a.(")
    assert "nodes.a.(" in error.value.message
    assert "Expected )" in error.value.message


def test_empty_expression_is_a_syntax_error():
    with pytest.raises(ExpressionSyntaxError, match="empty"):
        parse_expression("   ")


def test_compiled_expression_is_cached_within_a_thread():
    assert parse_expression("a + 1") is parse_expression("a + 1")


def test_threads_get_their_own_compiled_expression():
    mine = parse_expression("b + 1")
    theirs = []
    thread = threading.Thread(target=lambda: theirs.append(parse_expression("b + 1")))
    thread.start()
    thread.join()
    assert theirs[0] is not mine


def test_cached_syntax_error_is_raised_every_time():
    for _ in range(2):
        with pytest.raises(ExpressionSyntaxError):
            parse_expression("1 +")
