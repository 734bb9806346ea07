"""``rostra domains``: the instance policy from the command line (list, block, unblock, allow,
disallow, import, export). Django is imported only when a command runs (``rostra --help`` stays fast).

CSV is Mastodon's export format: ``#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate``.
An import checks every row first and applies nothing unless all are valid (errors by row number).
"""

from __future__ import annotations

import argparse
import sys
from typing import IO, Any

HELP = """\
Domain blocks and the allow-list (docs/moderation.md, "Domain blocks"). Examples:
  rostra domains block spam.example --severity suspend --public-comment "Spam"
  rostra domains block bad.example --severity silence --reject-media
  rostra domains list
  rostra domains export > blocks.csv
  rostra domains import blocks.csv
  rostra domains allow friends.example        (used with ROSTRA_FEDERATION_MODE=allowlist)
"""


def add_parser(sub: Any) -> None:
    """Register ``domains`` and its commands on the top-level ``rostra`` parser."""
    domains = sub.add_parser(
        "domains",
        help="block, silence or allow other servers (instance policy)",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    ).add_subparsers(dest="domains_command", required=True, metavar="{list,block,unblock,allow,disallow,import,export}")
    p = domains.add_parser("list", help="list domain blocks (and the allow-list)")
    p.set_defaults(func=run)
    p = domains.add_parser("block", help="block a domain and its subdomains, or change its block")
    p.add_argument("domain")
    p.add_argument("--severity", choices=("silence", "suspend", "noop"), default="silence")
    p.add_argument("--reject-media", action="store_true", help="do not fetch its media")
    p.add_argument("--reject-reports", action="store_true", help="ignore its reports")
    p.add_argument("--private-comment", default="", help="a note for moderators")
    p.add_argument("--public-comment", default="", help="the reason shown publicly")
    p.add_argument("--obfuscate", action="store_true", help="publish the domain partly starred")
    p.set_defaults(func=run)
    for name, text in (
        ("unblock", "lift a domain's block"),
        ("allow", "allow a domain (allow-list mode)"),
        ("disallow", "remove a domain from the allow-list"),
    ):
        p = domains.add_parser(name, help=text)
        p.add_argument("domain")
        p.set_defaults(func=run)
    p = domains.add_parser("import", help="import blocks from a CSV file (Mastodon's format; - for stdin)")
    p.add_argument("file")
    p.set_defaults(func=run)
    p = domains.add_parser("export", help="write the blocks as CSV (Mastodon's format) to stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> int:
    """Run one ``rostra domains`` command; 0 on success, 1 with a message on stderr otherwise."""
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rostra.config.settings")
    import django

    django.setup()
    from rostra.core.errors import DomainError
    from rostra.federation import policy

    out, err = stdout or sys.stdout, stderr or sys.stderr
    command = args.domains_command
    try:
        if command == "list":
            _list(policy, out)
        elif command == "block":
            spec = policy.check_block(
                args.domain,
                severity=args.severity,
                reject_media=args.reject_media,
                reject_reports=args.reject_reports,
                private_comment=args.private_comment,
                public_comment=args.public_comment,
                obfuscate=args.obfuscate,
            )
            block = policy.block_domain(None, spec)
            out.write(f"Blocked {block.domain} ({block.severity}).\n")
        elif command == "unblock":
            policy.unblock_domain(None, args.domain)
            out.write(f"Unblocked {policy.normalize_domain(args.domain)}.\n")
        elif command == "allow":
            allow = policy.allow_domain(None, args.domain)
            out.write(f"Allowed {allow.domain}.\n")
        elif command == "disallow":
            policy.disallow_domain(None, args.domain)
            out.write(f"Removed {policy.normalize_domain(args.domain)} from the allow-list.\n")
        elif command == "import":
            text = _read(args.file)
            done = policy.import_csv(None, text)
            out.write(f"Imported {len(done)} domain block(s).\n")
        elif command == "export":
            out.write(policy.export_csv())
    except DomainError as exc:
        rows = getattr(exc, "errors", {}).get("rows")
        if rows:
            err.write("Nothing was imported:\n" + "".join(f"  {r}\n" for r in rows))
        else:
            err.write(f"{exc.message}\n")
        return 1
    except UnicodeDecodeError:
        err.write(f"{args.file} is not UTF-8 text.\n")
        return 1
    except OSError as exc:
        err.write(f"Cannot read {args.file}: {exc.strerror or exc}\n")
        return 1
    return 0


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    with open(path, encoding="utf-8-sig") as f:
        return f.read()


def _list(policy: Any, out: IO[str]) -> None:
    blocks = policy.blocks()
    if not blocks:
        out.write("No domain blocks.\n")
    for b in blocks:
        flags = [
            f
            for f, on in (("reject media", b.reject_media), ("reject reports", b.reject_reports), ("obfuscated", b.obfuscate))
            if on
        ]
        extra = f" [{', '.join(flags)}]" if flags else ""
        comment = f" — {b.public_comment}" if b.public_comment else ""
        out.write(f"{b.domain}\t{b.severity}{extra}{comment}\n")
    allows = policy.allows()
    out.write(f"Federation mode: {policy.mode()}\n")
    for a in allows:
        out.write(f"allowed\t{a.domain}\n")
