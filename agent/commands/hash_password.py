"""``l4agent hash-password``: a bcrypt hash for ``[agent.web.basic_auth_users]``."""

from __future__ import annotations

import sys

import click


@click.command("hash-password")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the password from standard input (one line).")
@click.option("--cost", default=12, show_default=True, type=click.IntRange(10, 16), help="bcrypt cost factor.")
def hash_password(from_stdin: bool, cost: int) -> None:
    """Print a bcrypt hash of a password for [agent.web.basic_auth_users].

    \b
    Example:
      l4agent hash-password            asks twice, prints $2b$12$...
      [agent.web.basic_auth_users]
      prometheus = "$2b$12$..."
    """
    import bcrypt

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        click.echo("error: empty password", err=True)
        sys.exit(2)
    click.echo(bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=cost)).decode("ascii"))
