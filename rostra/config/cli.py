"""The ``rostra`` command line: serve, web, migrate, worker, streaming, users, demo, export-account, import-account, backup, restore, check, moderation."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rostra.config.settings")
    import django

    django.setup()


def _observe_process(kind: str) -> None:
    """A server process (web, worker, streaming): its metrics go to <data dir>/metrics, where
    /metrics adds up every process of the machine; its log lines say which kind it is."""
    from django.conf import settings

    from rostra.core import logs, metrics

    metrics.use_directory(settings.ROSTRA.data_dir / "metrics", kind)
    metrics.start()
    logs.set_process(kind)


def cmd_migrate(args: argparse.Namespace) -> int:
    _setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=1 if args.verbose else 0)
    print("rostra: database is up to date.")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    _setup()
    return _run_worker(args.workers)


def _run_worker(workers: int = 0) -> int:
    """The task worker (huey's consumer, in threads), in a process where Django is set up."""
    from django.conf import settings
    from django.core.management import call_command

    _observe_process("worker")
    from huey.contrib.djhuey import HUEY

    from rostra.core import logs

    logs.install_task_context(HUEY)  # lines logged while a task runs carry its name and id
    call_command("run_huey", workers=workers or settings.ROSTRA.task_workers, worker_type="thread", flush_locks=True)
    return 0


def _gunicorn_argv(cfg: Any, bind: str, workers: int) -> list[str]:
    """The WSGI web server as `rostra serve` and `rostra web` start it."""
    return [
        sys.executable, "-m", "gunicorn", "rostra.config.wsgi:application",
        "--bind", bind, "--workers", str(workers), "--worker-class", "rostra.config.web_worker.AdmissionWorker",  # gthread + queue-wait shedding
        "--threads", "4", "--timeout", "60", "--graceful-timeout", "20",  # no gunicorn access log: rostra.request logs each request
        "--forwarded-allow-ips", "127.0.0.1",
        "--preload",  # the master imports the app once; its workers share those pages (copy-on-write)
        *(["--logger-class", "rostra.config.gunicorn_logger.JsonLogger"] if cfg.log_format == "json" else []),
    ]  # fmt: skip


def cmd_web(args: argparse.Namespace) -> int:
    """Only the WSGI web server (pages and the API), for layouts where workers and streaming
    run elsewhere. It never migrates: run `rostra migrate` once, not on every web machine."""
    _setup()
    from django.conf import settings

    from rostra.core import metrics

    cfg = settings.ROSTRA
    workers = args.workers or cfg.web_workers
    if not 1 <= workers <= 64:
        print("rostra: --workers must be between 1 and 64.", file=sys.stderr)
        return 2
    argv = _gunicorn_argv(cfg, f"{args.host}:{args.port}", workers)
    print(
        f"rostra: web server for {cfg.instance_name} on http://{args.host}:{args.port} (public URL {cfg.base_url}).", flush=True
    )
    if args.dry_run:
        print(" ".join(argv))
        return 0
    metrics.use_directory(cfg.data_dir / "metrics", "web")  # the gunicorn children write their figures there (env)
    os.execv(sys.executable, argv)  # noqa: S606 - gunicorn replaces this process; signals reach it directly
    return 0  # pragma: no cover - execv does not return


class _Child:
    """A server process forked by `rostra serve`: what the supervisor needs of ``subprocess.Popen``."""

    def __init__(self, name: str, run: Callable[[], int]) -> None:
        self.name = name
        self.returncode: int | None = None
        sys.stdout.flush()  # nothing buffered before the fork may be written twice
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child: measured by the live tests, not by coverage
            _child_main(name, run)
        self.pid = pid

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def wait(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while (code := self.poll()) is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(self.name, timeout)
            time.sleep(0.05)
        return code

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)
        self.wait(timeout=5)


def _child_main(name: str, run: Callable[[], int]) -> NoReturn:  # pragma: no cover - runs in a forked child
    """Run one server in the forked child, then end the process as a server started on its own
    ends: SystemExit unwinds to the interpreter (threads joined, exit handlers run), through no
    code of the supervisor's (a gunicorn worker, forked from this child, ends the same way)."""
    import traceback

    with contextlib.suppress(OSError):  # `top` and `ps -o comm` tell the processes apart (Linux)
        Path("/proc/self/comm").write_text(name[:15])
    try:
        code = run()
    except SystemExit:
        raise
    except BaseException:  # noqa: BLE001 - anything a server raises ends its process, with the traceback
        traceback.print_exc()
        code = 1
    raise SystemExit(code)


def _prepare_fork() -> None:
    """In `rostra serve`, before its server processes are forked: nothing open may be shared, and
    what every process imported stays in pages they all share (copy-on-write)."""
    import gc

    from django.db import connections
    from django.urls import get_resolver
    from huey.contrib.djhuey import HUEY

    import rostra.config.wsgi  # noqa: F401 - the web app, for gunicorn's master and workers to share

    get_resolver().reverse_dict  # noqa: B018 - the URLconf and its views, imported here once, not by each web worker's first request
    connections.close_all()  # a database connection must never cross a fork
    HUEY.storage.close()  # the SQLite queue's connection (Redis pools reconnect in a new pid by themselves)
    gc.collect()
    gc.freeze()  # the garbage collector of the children leaves the shared objects (and their pages) alone


def _run_gunicorn(argv: list[str]) -> int:
    """gunicorn as `python -m gunicorn` runs it, in this (forked) process."""
    import gunicorn
    from gunicorn.app.wsgiapp import WSGIApplication

    # argv is `python -m gunicorn ...`; sys.argv as `-m` sets it, which gunicorn's USR2 upgrade re-executes
    sys.argv = [str(Path(gunicorn.__file__).with_name("__main__.py")), *argv[3:]]
    WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]", prog="gunicorn").run()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Web (gunicorn), the task worker and the streaming process, under this one supervisor. The
    three are forked from this process once Django is set up, so they share its imported code
    copy-on-write instead of each importing Rostra again: an idle small instance needs a third
    of the memory (docs/operations.md, "Memory of a small instance")."""
    _setup()
    from django.conf import settings
    from django.core.management import call_command

    cfg = settings.ROSTRA
    if not args.no_migrate:
        call_command("migrate", interactive=False, verbosity=0)
    bind = f"{args.host}:{args.port}"
    from rostra.core import metrics

    metrics.use_directory(cfg.data_dir / "metrics", "web")  # every child writes its figures there (env)
    _prepare_fork()
    procs: list[_Child] = []  # no try/finally around the forks: a child's SystemExit must unwind through nothing here
    gunicorn_argv = _gunicorn_argv(cfg, bind, args.workers or cfg.web_workers)
    procs.append(_Child("rostra-web", lambda: _run_gunicorn(gunicorn_argv)))
    if not args.no_worker:
        procs.append(_Child("rostra-worker", _run_worker))
    streaming_port = args.streaming_port or cfg.streaming_port
    if not args.no_streaming:
        # Only /api/v1/streaming runs under ASGI, in its own small process (pages and the API stay on WSGI).
        procs.append(_Child("rostra-stream", lambda: _run_streaming(args.host, streaming_port)))
    print(f"rostra: serving {cfg.instance_name} on http://{bind} (public URL {cfg.base_url}); Ctrl-C stops.", flush=True)
    if not args.no_streaming:
        print(f"rostra: streaming on ws://{args.host}:{streaming_port}/api/v1/streaming (advertised as {cfg.streaming_public_url}).", flush=True)

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


def cmd_streaming(args: argparse.Namespace) -> int:
    _setup()
    return _run_streaming(args.host, args.port)


def _run_streaming(host: str, port: int) -> int:
    """The streaming server (uvicorn), in a process where Django is set up."""
    import uvicorn
    from django.conf import settings
    from uvicorn.config import LOGGING_CONFIG

    cfg = settings.ROSTRA
    _observe_process("streaming")
    uvicorn.run(
        "rostra.streaming.asgi:application", host=host, port=port or cfg.streaming_port, lifespan="on",
        ws="websockets-sansio", proxy_headers=True, forwarded_allow_ips="127.0.0.1", timeout_graceful_shutdown=5,
        log_level=cfg.log_level.lower(), access_log=False,
        log_config=None if cfg.log_format == "json" else LOGGING_CONFIG,  # json: uvicorn's lines go through Rostra's handler
    )
    return 0


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

    build_demo(accounts=args.accounts, posts=args.posts, seed=args.seed, password=args.password, progress=True, moderation=not args.no_moderation)
    return 0


def cmd_export_account(args: argparse.Namespace) -> int:
    _setup()
    from rostra.portability.cli import export_account

    return export_account(args.username, args.output, sys.stdout, sys.stderr)


def cmd_import_account(args: argparse.Namespace) -> int:
    _setup()
    from rostra.portability.cli import import_account

    return import_account(args.archive, args.username, args.email, sys.stdout, sys.stderr)


def cmd_check(args: argparse.Namespace) -> int:
    _setup()
    from rostra.config.checks import run_checks

    return run_checks(deploy=args.deploy, scale_out=args.scale_out)


def cmd_backup(args: argparse.Namespace) -> int:
    _setup()
    from pathlib import Path

    from rostra.config.backup import BackupError, backup

    try:
        path, manifest = backup(Path(args.target))
    except BackupError as exc:
        print(f"rostra: backup: {exc}", file=sys.stderr)
        return 2
    size = path.stat().st_size
    counts = ", ".join(f"{n} {what}" for what, n in manifest["counts"].items())
    print(f"rostra: backed up {manifest['database']['engine']} ({counts}), {manifest['media'].get('files', 'no')} media files "
          f"and the key to {path} ({size / 1e6:.1f} MB).")
    if "note" in manifest["media"]:
        print(f"rostra: {manifest['media']['note']}.")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    _setup()
    from pathlib import Path

    from rostra.config.backup import BackupError, check, restore

    try:
        if args.check:
            manifest, pending = check(Path(args.archive))
            later = f"; restoring it applies {len(pending)} newer migrations" if pending else ""
            print(f"rostra: {args.archive} is a sound backup of Rostra {manifest['rostra_version']} made {manifest['created']}{later}.")
            return 0
        report = restore(Path(args.archive), force=args.force)
    except BackupError as exc:
        print(f"rostra: restore: {exc}", file=sys.stderr)
        return 2
    m = report["manifest"]
    print(f"rostra: restored the backup made {m['created']} ({m['counts'].get('accounts', 0)} accounts, "
          f"{m['counts'].get('posts', 0)} posts, {report['media_files']} media files)"
          + (f"; applied {report['migrated']} newer migrations." if report["migrated"] else "."))
    return 0


def cmd_moderation_screen(args: argparse.Namespace) -> int:
    _setup()
    from rostra.moderation.cli import screen

    try:
        return screen(sys.stdin, sys.stdout, sys.stderr, policy_file=args.policy, stage2=getattr(args, "stage2", False))
    except BrokenPipeError:
        # The reader went away (`... | head`): stop quietly, as other filters do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def cmd_moderation_eval(args: argparse.Namespace) -> int:
    from rostra.moderation.cli import evaluate_file

    return evaluate_file(args.file, models_dir=args.models, as_json=args.json, stdout=sys.stdout, stderr=sys.stderr)


def cmd_moderation_train(args: argparse.Namespace) -> int:
    from rostra.moderation.cli import train_model

    return train_model(
        shared=args.shared, out=args.out, seed=args.seed, use_decisions=not args.no_decisions, setup=_setup,
        stdout=sys.stdout, stderr=sys.stderr,
    )


MODERATION_HELP = """\
Trust and safety tools.

  screen   JSON Lines on stdin, one decision per line on stdout, through the same gate and
           policy in force (from this instance's database) as a post being written
  eval     per-category ROC AUC, average precision and precision at 80 %/90 % recall of the
           stage-1 model on a labelled CSV or JSONL file
  train    retrain the stage-1 model from the shared data, the authored examples and the
           moderators' decisions, and write its model card

examples:
  echo '{"text": "I will kill you tomorrow"}' | rostra moderation screen
  rostra moderation screen < posts.jsonl > decisions.jsonl
  rostra moderation eval labelled.csv --json
  rostra moderation train --shared ../shared/data/moderation --seed 1
"""

SCREEN_HELP = """\
Reads JSON Lines on stdin, one post per line:

  {"text": "...", "spoiler_text": "...", "author": "alice", "new_account": true}

Only "text" is required. "author" names who wrote it: posts with an author are remembered for
spam-wave detection (near-identical posts from several authors within the hour), posts without
one are not, so a batch of unrelated posts never looks like a wave. "new_account": true applies
the policy's stricter thresholds for young accounts.

Writes one JSON object per non-blank input line, in order, flushed line by line: "line",
"decision" (publish, label, limit, hold or refuse), "category" (the deciding one; "" when
published cleanly), "rule", "reason", "label", "state", "scores" (all eight categories, 0 to 1),
"model_version", "policy_version", "stage", "borderline", "matched_rules". A line that cannot be
screened gives {"line": N, "error": "line N: ..."} and the command exits 1 at the end; the
database must be migrated (`rostra migrate`), or it exits 2. With --policy FILE, a draft policy
(the JSON document the policy page edits) decides instead, "policy_version" is -1, and no
database is needed.
"""

TRAIN_HELP = """\
Trains the stage-1 heads (the trainer's progress bars show on stderr), measures them through the
screener and writes stage1.npz, stage1.json and MODEL_CARD.md to --out. Moderator decisions
stored in the database are included (weighted x2) when this version can read them; the count
is printed. Restart the web processes and workers to use a new model.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rostra", description="Rostra: a self-hostable microblogging network.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the web server, the task worker and the streaming server")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=0, help="web worker processes (default: ROSTRA_WEB_WORKERS)")
    p.add_argument("--no-worker", action="store_true", help="do not start the task worker (run `rostra worker` elsewhere)")
    p.add_argument("--no-migrate", action="store_true", help="do not apply migrations first")
    p.add_argument("--streaming-port", type=int, default=0, help="the streaming process's port (default: ROSTRA_STREAMING_PORT)")
    p.add_argument("--no-streaming", action="store_true", help="do not start the streaming process (run `rostra streaming` elsewhere)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("web", help="run only the web server (pages and the API), for workers and streaming elsewhere")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=0, help="web worker processes (default: ROSTRA_WEB_WORKERS)")
    p.add_argument("--dry-run", action="store_true", help="print the server command instead of running it")
    p.set_defaults(func=cmd_web)

    p = sub.add_parser("streaming", help="run the streaming server (/api/v1/streaming: WebSocket and SSE)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="default: ROSTRA_STREAMING_PORT")
    p.set_defaults(func=cmd_streaming)

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
    p.add_argument("--no-moderation", action="store_true", help="leave out the demo moderator and the posts waiting in the review queue")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("export-account", help="write one account's whole archive (profile, posts, media, follows, lists) to a ZIP")
    p.add_argument("username")
    p.add_argument("-o", "--output", default=None, help="the file to write (default: rostra-archive-<username>-<date>.zip)")
    p.set_defaults(func=cmd_export_account)

    p = sub.add_parser("import-account", help="restore an account archive into a new (or not yet used) local account")
    p.add_argument("archive", help="a ZIP made by export-account or the Download an account archive button")
    p.add_argument("--username", required=True, help="the local account to restore into; created if it does not exist")
    p.add_argument("--email", default=None, help="the new account's email address (needed when it is created)")
    p.set_defaults(func=cmd_import_account)

    p = sub.add_parser("backup", help="back up this instance (database, media, secret key) to one file")
    p.add_argument("target", help="a directory (the file is named rostra-backup-<date>.tar) or a new file's name")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="restore a backup into this instance (stop Rostra first)")
    p.add_argument("archive", help="a file made by `rostra backup`")
    p.add_argument("--force", action="store_true", help="replace an instance that already has accounts or media")
    p.add_argument("--check", action="store_true", help="only check the backup (manifest, checksums, version) and change nothing")
    p.set_defaults(func=cmd_restore)

    p = sub.add_parser("check", help="check the configuration, database, queue and media store")
    p.add_argument("--deploy", action="store_true", help="also run Django's deployment checks")
    p.add_argument(
        "--scale-out",
        action="store_true",
        help="also check what running on several machines needs (PostgreSQL, Redis, a shared secret key, S3 media)",
    )
    p.set_defaults(func=cmd_check)

    from rostra.federation import cli as domains_cli  # no Django at import: `rostra --help` stays fast

    domains_cli.add_parser(sub)

    from rostra.accounts import surge_cli  # surge mode: waitlist, admit, invites

    surge_cli.add_parser(sub)

    moderation = sub.add_parser(
        "moderation", help="screen posts, evaluate and train the screener", description=MODERATION_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    ).add_subparsers(dest="moderation_command", required=True, metavar="{screen,eval,train}")
    p = moderation.add_parser(
        "screen", help="decide JSON Lines posts from stdin with the policy in force", description=SCREEN_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--policy", metavar="FILE", default=None,
        help="decide with the draft policy in this JSON file instead of the one in force (no database needed)",
    )
    from rostra.moderation.cli import stage2_loader

    if stage2_loader() is not None:  # stage 2 ships separately (screener.encoder); offer it only where it exists
        p.add_argument(
            "--stage2", action="store_true",
            help="re-score borderline posts with stage 2 and decide again, as the worker does before fan-out "
            '(adds "stage1" with the first decision)',
        )
    p.set_defaults(func=cmd_moderation_screen)
    p = moderation.add_parser(
        "eval", help="measure the screener on a labelled CSV or JSONL file",
        description="Per category with both classes labelled: ROC AUC, average precision (AP) and precision at 80 % "
        "and 90 % recall (P@R80, P@R90). The file is either wide (text plus one 0/1 column or key per category; "
        "empty means unlabelled) or long (text, category, label). Exits 2 if the file is missing, of an unknown "
        "format or has no usable labels.",
    )
    p.add_argument("file", help="a .csv or .jsonl (.ndjson) file")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.add_argument("--models", metavar="DIR", default=None, help="the model to measure (default: the committed one)")
    p.set_defaults(func=cmd_moderation_eval)
    p = moderation.add_parser(
        "train", help="retrain the stage-1 screener and write its model card", description=TRAIN_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--shared", metavar="DIR", default=None,
        help="the shared labelled data (davidson/, ethos/, youtube_spam/); default: $ROSTRA_MODERATION_DATA, "
        "else ../shared/data/moderation next to the repository",
    )
    p.add_argument("--out", metavar="DIR", default=None, help="where to write the model (default: the committed models directory)")
    p.add_argument("--seed", type=int, default=1, metavar="N", help="the split and training seed (default: 1)")
    p.add_argument("--no-decisions", action="store_true", help="leave the moderators' decisions out")
    p.set_defaults(func=cmd_moderation_train)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
