"""``sessionary demo``: the original example's data, idempotently."""

from __future__ import annotations

import typer

from sessionary.cli._runtime import load_settings, run, unit_of_work
from sessionary.users import service as users_service


def demo() -> None:
    """Load demo data (user123 / secretpassword); a second run changes nothing."""
    settings = load_settings()

    async def work() -> users_service.DemoResult:
        async with unit_of_work(settings) as ctx:
            return await users_service.load_demo_users(ctx.db, ctx.hasher)

    result = run(work)
    for name, reason in result.policy_bypassed.items():
        typer.echo(f"note: demo user {name} bypasses the password policy ({reason})")
    if result.created:
        typer.echo(f"demo data loaded: {', '.join(result.created)}")
    else:
        typer.echo(f"demo data already present: {', '.join(result.present)}")
