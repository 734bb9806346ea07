"""``rostra surge``: surge mode from the command line (docs/operations.md, "Surge mode").
Django is imported only when a command runs (``rostra --help`` stays fast)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import IO, Any

HELP = """\
Surge mode: queue sign-ups on a waitlist and watch new accounts more closely. Examples:
  rostra surge status
  rostra surge on --reason "featured in the news"
  rostra surge auto          (on above ROSTRA_SURGE_SIGNUPS_PER_MIN, off 30 minutes after)
  rostra surge off
  rostra surge admit 500     (the 500 people longest on the waitlist get their link)
  rostra surge invite --uses 20 --days 3
  rostra surge message "We are growing fast: sign-ups are queued for a few hours."
"""


def add_parser(sub: Any) -> None:
    surge = sub.add_parser(
        "surge",
        help="surge mode: waitlist sign-ups, admit people, invites",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    ).add_subparsers(dest="surge_command", required=True, metavar="{status,on,off,auto,admit,invite,message}")
    p = surge.add_parser("status", help="the mode, the sign-up rate and the waitlist (JSON)")
    p.set_defaults(func=run)
    for mode in ("on", "off", "auto"):
        p = surge.add_parser(mode, help=f"switch surge mode {mode}")
        p.add_argument("--reason", default="", help="why (kept in the audit log)")
        p.set_defaults(func=run)
    p = surge.add_parser("admit", help="admit the N people longest on the waitlist")
    p.add_argument("count", help="how many")
    p.set_defaults(func=run)
    p = surge.add_parser("invite", help="create an invite link that skips the waitlist")
    p.add_argument("--uses", default="1", help="how many sign-ups it allows (default 1)")
    p.add_argument("--days", default="7", help="days until it expires (default 7; 0: never)")
    p.set_defaults(func=run)
    p = surge.add_parser("message", help="set the banner's words (empty: the default)")
    p.add_argument("text")
    p.set_defaults(func=run)


def _whole(raw: str, name: str) -> int:
    if not raw.strip().isdigit():
        raise ValueError(f"{name} must be a whole number, not {raw!r}")
    return int(raw)


def run(args: argparse.Namespace, stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> int:
    """Run one ``rostra surge`` command; 0 on success, 1 with a message on stderr otherwise."""
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rostra.config.settings")
    import django

    django.setup()
    from rostra.accounts import surge
    from rostra.core.errors import DomainError

    out, err = stdout or sys.stdout, stderr or sys.stderr
    command = args.surge_command
    try:
        if command in surge.MODES:
            st = surge.set_mode(None, command, reason=args.reason)
            print(f"rostra: surge mode is {st.mode}; sign-ups are {'queued' if st.active else 'not queued'}.", file=out)
        elif command == "admit":
            admitted = surge.admit(None, _whole(args.count, "count"))
            print(f"rostra: admitted {len(admitted)} from the waitlist; {surge.waiting_count()} still waiting.", file=out)
        elif command == "invite":
            days = _whole(args.days, "--days")
            invite = surge.create_invite(None, max_uses=_whole(args.uses, "--uses"), expires_in_days=days or None)
            print(surge.invite_link(invite), file=out)
        elif command == "message":
            surge.set_message(None, args.text)
            print("rostra: the surge banner is saved.", file=out)
        else:
            print(json.dumps(surge.describe(), indent=2), file=out)
    except (DomainError, ValueError) as exc:
        print(f"rostra: {getattr(exc, 'message', None) or exc}", file=err)
        return 1
    return 0
