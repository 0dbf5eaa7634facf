"""Who performs an administrative verb: a principal through the API, or an operator at the CLI.

Both go through the same verbs (:mod:`sessionary.users.admin`) under the same rules and
audit events. An operator runs ``sessionary`` on the server with the database URL, so they
hold every permission already; they are recorded with ``actor_user_id`` and
``actor_api_key_id`` null and ``detail`` carrying ``{"via": "cli", "os_user": <login name>}``.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Any

from sessionary.identity.principal import Principal


@dataclass(frozen=True, slots=True)
class Operator:
    """Someone at the server's command line: no account, full power, named by OS user."""

    os_user: str

    @classmethod
    def current(cls) -> Operator:
        try:
            return cls(getpass.getuser())
        except (OSError, KeyError):  # no login name in the environment nor in passwd
            return cls("unknown")


Actor = Principal | Operator


def audit_actor(actor: Actor) -> dict[str, Any]:
    """The ``record_event`` keywords that name the actor."""
    if isinstance(actor, Operator):
        return {"actor_user_id": None, "actor_api_key_id": None}
    return {"actor_user_id": actor.user_id, "actor_api_key_id": actor.api_key_id}


def audit_via(actor: Actor) -> dict[str, Any]:
    """What an event's ``detail`` adds about the actor (nothing for a principal)."""
    if isinstance(actor, Operator):
        return {"via": "cli", "os_user": actor.os_user}
    return {}
