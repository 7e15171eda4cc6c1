"""`docpipe users add`: create review accounts (argon2-hashed passwords)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.output import emit, fail


def register(app: typer.Typer) -> None:
    users = typer.Typer(help="Review web app accounts.", no_args_is_help=True)
    app.add_typer(users, name="users")

    @users.command("add")
    def add(
        username: Annotated[str, typer.Argument(help="Sign-in name (lower-case letters, digits, . _ -).")],
        role: Annotated[
            list[str],
            typer.Option("--role", "-r", help="reviewer, approver, admin or auditor; repeat for several."),
        ],
        name: Annotated[str | None, typer.Option(help="Display name.")] = None,
        password_file: Annotated[Path | None, typer.Option(help="Read the password from this file.")] = None,
        password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    ) -> None:
        """Create an account. Without --password-file/--password-stdin the password is prompted for."""
        from pipeline.config import get_settings
        from pipeline.review.store import open_store
        from pipeline.review.users import add_user

        if password_file is not None:
            try:
                password = password_file.read_text().rstrip("\n")
            except OSError as exc:
                fail(f"cannot read {password_file}: {exc.strerror}")
        elif password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        engine, sessions = open_store(get_settings())
        try:
            with sessions.begin() as db:
                user = add_user(db, username, password, ",".join(role), name)
                out = {"id": user.id, "username": user.username, "roles": user.roles}
        except ValueError as exc:
            fail(str(exc))
        finally:
            engine.dispose()
        emit(out, as_json, f"created user {out['username']} ({out['roles']})")
