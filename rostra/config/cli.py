"""The ``rostra`` command line: serve, migrate, worker, users, demo, check."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rostra.config.settings")
    import django

    django.setup()


def cmd_migrate(args: argparse.Namespace) -> int:
    _setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1 if args.verbose else 0)
    print("rostra: database is up to date.")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    _setup()
    from django.conf import settings
    from django.core.management import call_command

    workers = args.workers or settings.ROSTRA.task_workers
    call_command("run_huey", workers=workers, worker_type="thread", flush_locks=True)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    _setup()
    from django.conf import settings
    from django.core.management import call_command

    cfg = settings.ROSTRA
    if not args.no_migrate:
        call_command("migrate", interactive=False, verbosity=0)
    bind = f"{args.host}:{args.port}"
    procs: list[subprocess.Popen[bytes]] = []
    web = [
        sys.executable, "-m", "gunicorn", "rostra.config.wsgi:application",
        "--bind", bind, "--workers", str(args.workers or cfg.web_workers), "--worker-class", "gthread",
        "--threads", "4", "--timeout", "60", "--graceful-timeout", "20", "--access-logfile", "-",
        "--forwarded-allow-ips", "127.0.0.1",
    ]
    procs.append(subprocess.Popen(web))
    if not args.no_worker:
        procs.append(subprocess.Popen([sys.executable, "-m", "rostra.config.cli", "worker"]))
    print(f"rostra: serving {cfg.instance_name} on http://{bind} (public URL {cfg.base_url}); Ctrl-C stops.", flush=True)

    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    while not stopping:
        for p in procs:
            if p.poll() is not None:
                print(f"rostra: a server process exited with code {p.returncode}; stopping.", file=sys.stderr)
                stopping, code = True, p.returncode or 1
        time.sleep(0.3)
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=25)
        except subprocess.TimeoutExpired:
            p.kill()
    return code


def cmd_users_create(args: argparse.Namespace) -> int:
    _setup()
    from rostra.accounts.actions import sign_up
    from rostra.accounts.models import Role
    from rostra.core.errors import ValidationError

    try:
        user = sign_up(args.username, args.email, args.password, role=Role.ADMIN if args.admin else (args.role or Role.MEMBER))
    except ValidationError as exc:
        for field, messages in exc.errors.items():
            for message in messages:
                print(f"rostra: {field}: {message}", file=sys.stderr)
        return 2
    print(f"rostra: created @{user.username} ({user.role}).")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    _setup()
    from rostra.testing.demo import build_demo

    build_demo(accounts=args.accounts, posts=args.posts, seed=args.seed, password=args.password, progress=True)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    _setup()
    from rostra.config.checks import run_checks

    return run_checks(deploy=args.deploy)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rostra", description="Rostra: a self-hostable microblogging network.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the web server and the task worker")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=0, help="web worker processes (default: ROSTRA_WEB_WORKERS)")
    p.add_argument("--no-worker", action="store_true", help="do not start the task worker (run `rostra worker` elsewhere)")
    p.add_argument("--no-migrate", action="store_true", help="do not apply migrations first")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("migrate", help="create or upgrade the database")
    p.add_argument("--verbose", action="store_true")
    p.set_defaults(func=cmd_migrate)

    p = sub.add_parser("worker", help="run background tasks (fan-out, notifications)")
    p.add_argument("--workers", type=int, default=0)
    p.set_defaults(func=cmd_worker)

    users = sub.add_parser("users", help="manage users").add_subparsers(dest="users_command", required=True)
    p = users.add_parser("create", help="create a user")
    p.add_argument("username")
    p.add_argument("--email", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--admin", action="store_true", help="make the user an admin")
    p.add_argument("--role", choices=["member", "moderator", "admin"], default=None)
    p.set_defaults(func=cmd_users_create)

    p = sub.add_parser("demo", help="fill this instance with a believable demo community")
    p.add_argument("--accounts", type=int, default=300)
    p.add_argument("--posts", type=int, default=3000)
    p.add_argument("--seed", type=int, default=2021)
    p.add_argument("--password", default="demo-password-2021", help="password of every demo account")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("check", help="check the configuration, database, queue and media store")
    p.add_argument("--deploy", action="store_true", help="also run Django's deployment checks")
    p.set_defaults(func=cmd_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
