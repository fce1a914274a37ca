"""Redaction against passwords that fight back: any text at all, ODBC-escaped into a DSN's
``PWD={...}`` (``}`` doubled), percent-encoded into a URL, or quoted after ``password=``.
A registered secret never survives in any of these forms; an unregistered braced value is
masked whole, never cut at its first escaped brace."""

from __future__ import annotations

import contextlib
from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st

from l4agent.core import redact as redact_module
from l4agent.core.redact import redact, register_secret
from l4agent.dbaccess.connection import odbc_quote, with_key

passwords = st.text(min_size=3, max_size=40).filter(lambda s: "\x00" not in s and "*" not in s)


@contextlib.contextmanager
def registered(secret: str):
    """Register ``secret`` for the duration only: random test strings must not stay registered
    (they would be masked in every later test of this process)."""
    saved = set(redact_module._secrets)
    register_secret(secret)
    try:
        yield
    finally:
        redact_module._secrets.clear()
        redact_module._secrets.update(saved)


@settings(max_examples=300, deadline=None)
@given(passwords)
def test_a_registered_password_survives_in_no_form(password):
    dsn = with_key("DRIVER={PostgreSQL Unicode};SERVER=db;UID=l4", "PWD", odbc_quote(password))
    url = f"https://hooks.example/send?token={quote(password, safe='')}"
    with registered(password):
        for text in (dsn, url, f"login failed: {password}", f"error in {dsn!r}"):
            out = redact(text)
            assert password not in out
            assert odbc_quote(password) not in out


@settings(max_examples=300, deadline=None)
@given(passwords)
def test_an_unregistered_braced_password_is_masked_whole(password):
    escaped = "{" + password.replace("}", "}}") + "}"
    assert redact(f"SERVER=db;PWD={escaped};UID=l4") == "SERVER=db;PWD=***;UID=l4"


def test_quoted_values_are_masked_whole():
    assert redact('password="two words" user=x') == "password=*** user=x"
    assert redact("token='a b c'; next") == "token=***; next"
    assert redact("PWD={ab}}cd;ef=gh};UID=u") == "PWD=***;UID=u"
