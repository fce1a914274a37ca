"""``l4agent hash-password``: a bcrypt hash for ``[agent.web.basic_auth_users]``."""

from __future__ import annotations

import sys

import click


@click.command("hash-password")
@click.option("--stdin", "from_stdin", is_flag=True,
              help="Read the password from standard input (its first line) instead of asking; "
                   "implied when standard input is not a terminal.")
@click.option("--cost", default=12, show_default=True, type=click.IntRange(10, 16), help="bcrypt cost factor.")
def hash_password(from_stdin: bool, cost: int) -> None:
    """Print a bcrypt hash of a password for [agent.web.basic_auth_users].

    On a terminal it asks twice without echo. From a pipe or a file it reads the first line
    of standard input (the line end is dropped) and asks nothing, so scripts can use it.

    \b
    Examples:
      l4agent hash-password                          asks twice, prints $2b$12$...
      printf '%s\\n' "$PW" | l4agent hash-password    from a pipe
      l4agent hash-password --stdin < pw.txt         from a file
      [agent.web.basic_auth_users]
      prometheus = "$2b$12$..."
    """
    import bcrypt

    if from_stdin or not _interactive():
        try:
            password = sys.stdin.readline().rstrip("\r\n")
        except UnicodeDecodeError:
            click.echo("error: the password on standard input is not UTF-8 text", err=True)
            sys.exit(2)
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        click.echo("error: empty password (nothing on the first line of standard input)"
                   if from_stdin or not _interactive() else "error: empty password", err=True)
        sys.exit(2)
    if len(password.encode("utf-8")) > 72:
        click.echo(f"error: the password is {len(password.encode('utf-8'))} bytes; bcrypt takes at most 72 "
                   "(use a shorter one)", err=True)
        sys.exit(2)
    if "\0" in password:
        click.echo("error: the password contains a NUL character", err=True)
        sys.exit(2)
    click.echo(bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=cost)).decode("ascii"))


def _interactive() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):  # closed or replaced stdin
        return False
