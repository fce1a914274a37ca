"""Work records keep a recommended statement pasteable: ``records show`` ends no statement with
``;.`` and shows it whole in a code block."""

from __future__ import annotations

from l4agent.agent.records.content import sentences
from l4agent.agent.records.render import _requests_markdown

STATEMENT = "ALTER TABLE cat_a.orders ADD INDEX ix_orders_customer_id (customer_id);"


def test_a_request_ending_with_a_statement_gets_no_full_stop_after_it():
    asked = sentences(f"Create the index (InnoDB builds it online). Run it in a quiet hour: {STATEMENT}")
    assert asked == ["Create the index (InnoDB builds it online).", f"Run it in a quiet hour: {STATEMENT}"]
    assert not any(a.endswith(";.") for a in asked)


def test_records_show_puts_the_statement_in_a_code_block():
    lines = _requests_markdown([f"Run it in a quiet hour: {STATEMENT}", "Re-test with `l4agent diagnose`."])
    assert lines == ["1. Run it in a quiet hour:", "", "   ```sql", f"   {STATEMENT}", "   ```", "",
                     "2. Re-test with \\`l4agent diagnose\\`."]  # prose is escaped: no code span or markup of its own


def test_mail_html_puts_the_statement_in_a_code_block():
    from l4agent.agent.records.render import _html_item

    assert _html_item(f"Run it: {STATEMENT}") == f"Run it:<pre><code>{STATEMENT}</code></pre>"
    assert _html_item("Check <b>it</b>.") == "Check &lt;b&gt;it&lt;/b&gt;."
