"""Findings paste cleanly (issue 18): the statement a recommendation ends with is shown whole, in
a code block, with no Markdown escaping inside it; the table shows evidence on request."""

from __future__ import annotations

from l4agent.core.sqltext import fenced, split_statement
from l4agent.diagnostics.base import Finding
from l4agent.exporters.findings import findings_markdown, findings_table
from l4agent.exporters.report.html import _todo

STATEMENT = "CREATE INDEX CONCURRENTLY ix_orders_customer_id_with_a_long_name ON public.orders_of_the_year (customer_id);"
FINDING = Finding("perf.missing_index", "warning", "erp", "erp.public.orders_of_the_year(customer_id)",
                  "public.orders_of_the_year needs an index on (customer_id)",
                  f"create the index (CONCURRENTLY builds it without blocking writes; run it outside the busiest "
                  f"hours): {STATEMENT}", {"share_of_time": 0.43, "cost_before": {"1": 4167.0}, "cost_after": {"1": 19.5}})
PLAIN = Finding("perf.top_query", "info", "erp", "erp.query:1", "a top statement", "tune this statement: run EXPLAIN")


def test_split_statement():
    assert split_statement(FINDING.recommendation) == (
        "create the index (CONCURRENTLY builds it without blocking writes; run it outside the busiest hours)", STATEMENT)
    assert split_statement(PLAIN.recommendation) == ("tune this statement: run EXPLAIN", None)
    tsql = "CREATE NONCLUSTERED INDEX [IX_T_A] ON [erp].[dbo].[T] ([A]) INCLUDE ([B]) WITH (ONLINE = ON);"
    assert split_statement(f"create it: {tsql}")[1] == tsql
    assert fenced("SELECT ```x```;") == ["````sql", "SELECT ```x```;", "````"]
    assert fenced("SELECT 1;\x1b[2J") == ["```sql", "SELECT 1; [2J", "```"]  # core.text.printable: a space


def test_table_shows_the_statement_whole_and_evidence_on_request():
    table = findings_table([FINDING, PLAIN], [], "h", 1.0)
    assert f"    {STATEMENT}" in table.splitlines()  # not clipped at the column width
    assert "(statement below)" in table and "cost_before" not in table
    detailed = findings_table([FINDING, PLAIN], [], "h", 1.0, evidence=True)
    assert '"cost_after": {' in detailed and '"share_of_time": 0.43' in detailed
    assert "a top statement" in detailed


def test_markdown_puts_the_statement_in_a_code_block_unescaped():
    text = findings_markdown([FINDING], [], "h", "2026-12-04")
    lines = text.splitlines()
    at = lines.index("```sql")
    assert lines[at + 1] == STATEMENT and lines[at + 2] == "```"  # no \\_ escapes inside
    assert "(statement #1 below)" in text and "orders\\_of\\_the\\_year" in text  # the table cell is escaped


def test_html_report_shows_the_statement_in_a_code_block():
    html = _todo(FINDING.recommendation)
    assert f'<pre class="sql"><code>{STATEMENT}</code></pre>' in html
    assert _todo("x: DROP TABLE <b>;") .endswith("<code>DROP TABLE &lt;b&gt;;</code></pre>")


def test_a_statement_with_markup_in_a_name_stays_escaped_in_markdown():
    hostile = Finding("schema.duplicate_index", "warning", "erp", "erp.t", "duplicate index",
                      "drop it: DROP INDEX `<script>alert(1)</script>` ON t;")
    text = findings_markdown([hostile], [], "h", "2026-12-04")
    assert "<script>" not in text and "```sql" not in text and "&lt;script&gt;" in text
