"""`crm users create` and `crm tokens issue|list|revoke`."""

from __future__ import annotations

import uuid

import click
from rich.table import Table

from crm.commands.common import fail, settings_or_exit
from crm.context import console, run_in_session
from ingest.auth.service_tokens import issue_token, list_tokens, revoke_token
from ingest.auth.users import create_user
from ingest.core.problems import ProblemError


@click.group()
def users() -> None:
    """Dashboard users."""


@users.command("create")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(["admin", "viewer"]), required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, help="prompted when not given")
@click.option("--first-name", default="")
@click.option("--last-name", default="")
def users_create(email: str, role: str, password: str, first_name: str, last_name: str) -> None:
    """Create a dashboard user."""
    settings = settings_or_exit()
    try:
        user = run_in_session(
            settings,
            lambda s: create_user(
                s, email=email, password=password, role=role, first_name=first_name, last_name=last_name
            ),
        )
    except ProblemError as exc:
        fail(exc.detail)
    console.print(f"[green]✓[/] created {role} {user.email} ({user.id})")


@click.group()
def tokens() -> None:
    """Service tokens for the bots (only hashes are stored)."""


@tokens.command("issue")
@click.argument("service", type=click.Choice(["bot1", "bot2"]))
@click.option("--name", default="", help="a label, e.g. the host the bot runs on")
@click.option("--expires", type=int, default=None, help="days until the token expires (default: never)")
def tokens_issue(service: str, name: str, expires: int | None) -> None:
    """Issue a token; the raw value is printed once."""
    settings = settings_or_exit()
    try:
        token, raw = run_in_session(settings, lambda s: issue_token(s, service, name=name, expires_days=expires))
    except ProblemError as exc:
        fail(exc.detail)
    console.print(f"[green]✓[/] issued {service} token {token.id}; store it now, it is not shown again:")
    console.print(raw, soft_wrap=True)


@tokens.command("list")
def tokens_list() -> None:
    """List tokens (never their values)."""
    rows = run_in_session(settings_or_exit(), list_tokens)
    table = Table("id", "service", "name", "created", "expires", "last used", "state")
    for t in rows:
        state = "revoked" if t.revoked_at else "active"
        fmt = lambda d: d.strftime("%Y-%m-%d %H:%M") if d else "-"  # noqa: E731
        table.add_row(str(t.id), t.service, t.name, fmt(t.created_at), fmt(t.expires_at), fmt(t.last_used_at), state)
    console.print(table)
    console.print(f"{len(rows)} token(s)")


@tokens.command("revoke")
@click.argument("token_id", type=click.UUID)
def tokens_revoke(token_id: uuid.UUID) -> None:
    """Revoke a token at once."""
    if not run_in_session(settings_or_exit(), lambda s: revoke_token(s, token_id)):
        fail(f"no active token with id {token_id}", "see `crm tokens list`")
    console.print(f"[green]✓[/] revoked {token_id}")
