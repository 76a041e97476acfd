"""docs/errors.md is generated from the broken fixtures and must be current."""

from .errordoc import ROOT, generate


def test_errors_doc_is_up_to_date():
    current = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    assert current == generate(), "docs/errors.md is stale: run `python -m tests.errordoc > docs/errors.md`"


def test_every_error_code_has_a_fix():
    text = generate()
    assert "See the message." not in text
