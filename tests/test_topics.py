import pytest

from maskwatch.topics import Topics


def test_templates_format_filter_and_match():
    topics = Topics("site/v1")
    assert topics.gate_check.format(gate_id="g-1") == "site/v1/gates/g-1/check"
    assert topics.gate_check.filter() == "site/v1/gates/+/check"
    assert topics.gate_check.match("site/v1/gates/g-1/check") == {"gate_id": "g-1"}
    assert topics.gate_check.match("site/v1/gates/g-1/verdict") is None
    assert topics.gate_check.match("other/v1/gates/g-1/check") is None
    assert topics.gate_check.match("site/v1/gates/a/b/check") is None


@pytest.mark.parametrize("bad", ["a/b", "+", "#", ""])
def test_parameters_cannot_escape_their_level(bad):
    with pytest.raises(ValueError, match="topic level"):
        Topics().gate_verdict.format(gate_id=bad)


def test_root_with_regex_characters_matches_literally():
    topics = Topics("t.1/x+y")
    assert topics.gate_status.match("t.1/x+y/gates/g/status") == {"gate_id": "g"}
    assert topics.gate_status.match("tX1/x+y/gates/g/status") is None
