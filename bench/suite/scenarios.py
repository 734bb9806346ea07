"""The HTTP scenarios of the benchmark suite, driven through the Mastodon client API by the open-loop
generator (bench/suite/loadgen.py). Each takes the runner's BenchContext and writes its figures into
``ctx.results`` (and a line or two into ``ctx.notes``).

Scenarios that must know when fan-out has finished (posts/s, the celebrity) look into the database
in-process: the runner has set Django up with the server's environment. By hand:

    python -m bench.suite.scenarios --context ctx.json [--only home_reads ...]

(the context's ``env``, the server's environment, is applied before Django is set up).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import secrets
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.suite.context import BenchContext, Community
from bench.suite.loadgen import Request, Response, Result, Source, call, mix, percentile, run_closed, run_open
from rostra.testing.demo_words import sample_post_text

HOME = "/api/v1/timelines/home"
KNEE_P99_MS = 200.0
KNEE_MAX_ERROR_RATE = 0.001


def _note(ctx: BenchContext, text: str) -> None:
    ctx.notes.append(text)
    print(f"  {text}", file=sys.stderr, flush=True)


def _readers(ctx: BenchContext) -> list[tuple[str, int]]:
    c = ctx.community
    pairs = list(zip(c.reader_tokens, c.reader_ids, strict=False))
    if not pairs:
        raise ValueError("the community has no reader tokens: the scenarios need some to drive load")
    return pairs


def _status_id(resp: Response) -> str | None:
    if not 200 <= resp.status < 300:
        return None
    try:
        doc = json.loads(resp.body)
    except ValueError:
        return None
    return str(doc["id"]) if isinstance(doc, dict) and "id" in doc else None


def _why(r: Result) -> str:
    """The first answer of each error kind, shortened: what went wrong, for the notes."""
    samples = {k: v for s in r.by_tag.values() for k, v in s.samples.items()}
    return "".join(f"; {k}: {v[:160].decode('utf-8', 'replace')!r}" for k, v in sorted(samples.items()))


def _rates(start: float, quick: bool, quick_rates: Sequence[float], factor: float = 1.6, top: float = 20_000) -> list[float]:
    if quick:
        return list(quick_rates)
    out = []
    r = start
    while r <= top:
        out.append(round(r, 1))
        r *= factor
    return out


# --- the mixed-load knee (G1) ------------------------------------------------------------------------------------


def _mixed_source(ctx: BenchContext, seed: int) -> tuple[Source, Callable[[Request, Response], None]]:
    readers = _readers(ctx)
    accounts = ctx.community.account_ids or [i for _, i in readers]
    rng = random.Random(seed)
    statuses: deque[str] = deque(maxlen=2000)
    for token, _ in readers[:5]:  # posts to like: what the readers see
        resp = call(ctx.base_url, Request("GET", HOME + "?limit=40", token=token))
        if resp.status == 200:
            statuses.extend(str(s["id"]) for s in json.loads(resp.body))
    if not statuses:
        for n in range(5):
            sid = _status_id(
                call(
                    ctx.base_url,
                    Request(
                        "POST", "/api/v1/statuses", ctx.community.celebrity_token, {"status": f"Something to like, number {n}."}
                    ),
                )
            )
            if sid:
                statuses.append(sid)
    if not statuses:
        raise RuntimeError("the mixed load needs posts to favourite and could not find or create any")

    def home(i: int) -> Request:
        return Request("GET", HOME, rng.choice(readers)[0], tag="home")

    def notifications(i: int) -> Request:
        return Request("GET", "/api/v1/notifications", rng.choice(readers)[0], tag="notifications")

    def post(i: int) -> Request:
        body = {"status": sample_post_text(rng)}
        return Request("POST", "/api/v1/statuses", rng.choice(readers)[0], body, tag="post")

    def like(i: int) -> Request:
        return Request("POST", f"/api/v1/statuses/{rng.choice(statuses)}/favourite", rng.choice(readers)[0], tag="favourite")

    def follow(i: int) -> Request:
        token, me = rng.choice(readers)
        target = rng.choice(accounts)
        while target == me and len(accounts) > 1:
            target = rng.choice(accounts)
        verb = "follow" if rng.random() < 0.5 else "unfollow"
        return Request("POST", f"/api/v1/accounts/{target}/{verb}", token, tag="follow")

    def heard(req: Request, resp: Response) -> None:
        if req.tag == "post" and (sid := _status_id(resp)):
            statuses.append(sid)

    source = mix([(75, home), (5, notifications), (3, post), (13, like), (4, follow)], seed=seed)
    return source, heard


def mixed_knee(ctx: BenchContext) -> None:
    """Step the mixed rate up; the knee is the highest rate with home p99 <= 200 ms and errors < 0.1 %."""
    source, heard = _mixed_source(ctx, seed=7)
    knee = 0.0
    knee_p99 = None
    first_p99 = None
    for rate in _rates(10, ctx.quick, (4, 8), factor=1.5):
        r = run_open(ctx.base_url, source, rate, ctx.step_seconds, on_response=heard, timeout=max(5.0, ctx.step_seconds))
        home_f = r.figures("home")
        all_f = r.figures()
        ok = home_f["p99_ms"] <= KNEE_P99_MS and all_f["error_rate"] < KNEE_MAX_ERROR_RATE and home_f["completed"] > 0
        first_p99 = home_f["p99_ms"] if first_p99 is None else first_p99
        _note(
            ctx,
            f"mixed {rate:g}/s: achieved {all_f['achieved_rps']:.1f}/s, home p50 {home_f['p50_ms']:.0f} ms "
            f"p99 {home_f['p99_ms']:.0f} ms, errors {all_f['errors'] or 0}{_why(r)} -> {'ok' if ok else 'past the knee'}",
        )
        if not ok:
            break
        knee, knee_p99 = rate, home_f["p99_ms"]
        time.sleep(min(1.0, ctx.step_seconds))  # let the queue drain before the next step
    ctx.results["mixed_knee_rps"] = knee
    ctx.results["home_p99_ms"] = round(knee_p99 if knee_p99 is not None else (first_p99 or 0.0), 1)
    if knee_p99 is None:
        _note(ctx, "mixed load: even the lowest rate missed home p99 <= 200 ms or errors < 0.1 % (home_p99_ms is that rate's)")


# --- home-read throughput at 1-64 concurrent clients ------------------------------------------------------------------


def _home_throughput(url: str, tokens: list[str], levels: Sequence[int], seconds: float) -> dict[int, Result]:
    out = {}
    for n in levels:
        src: Source = lambda i: Request("GET", HOME, tokens[i % len(tokens)], tag="home")  # noqa: E731
        out[n] = run_closed(url, src, n, seconds)
    return out


def _first_reads(ctx: BenchContext, tokens: list[str]) -> None:
    """Each reader's home read once, 8 at a time, before the timed steps: a steady state, where
    everyone active has their home timeline in the store. With Redis (profiles on PostgreSQL) the
    bulk load leaves the store empty, so a first read rebuilds the home from the database;
    without this, a 5-second step at a few clients (M: 512 readers) measured little but
    rebuilds. The first reads' latency is kept as ``home_first_read_p50_ms``."""
    from concurrent.futures import ThreadPoolExecutor

    def one(token: str) -> tuple[float, int]:
        started = time.perf_counter()
        resp = call(ctx.base_url, Request("GET", HOME, token, tag="home"))
        return (time.perf_counter() - started) * 1000.0, resp.status

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(one, tokens))
    latencies = [ms for ms, status in answers if status == 200]
    failed = len(answers) - len(latencies)
    p50 = round(percentile(latencies, 50), 1)
    ctx.results["home_first_read_p50_ms"] = p50
    _note(ctx, f"first home reads of {len(tokens)} readers (8 at a time): p50 {p50:.0f} ms, errors {failed}")


def home_reads(ctx: BenchContext) -> None:
    tokens = [t for t, _ in _readers(ctx)]
    _first_reads(ctx, tokens)
    levels = (1, 4) if ctx.quick else (1, 4, 16, 64)
    best = 0.0
    for n, r in _home_throughput(ctx.base_url, tokens, levels, ctx.step_seconds).items():
        f = r.figures("home")
        rps = round(f["achieved_rps"], 1)
        ctx.results[f"home_reads_per_s_c{n}"] = rps
        best = max(best, rps)
        _note(
            ctx,
            f"home reads, {n} clients: {rps}/s, p50 {f['p50_ms']:.0f} ms p99 {f['p99_ms']:.0f} ms, errors {f['errors'] or 0}{_why(r)}",
        )
    ctx.results["home_reads_per_s"] = best
    if not ctx.ceiling_url:
        _note(ctx, "no ceiling server: home_ceiling_reads_per_s not measured")
        return
    ceiling = 0.0
    for n, r in _home_throughput(ctx.ceiling_url, tokens, levels, ctx.step_seconds).items():
        f = r.figures("home")
        ceiling = max(ceiling, round(f["achieved_rps"], 1))
        _note(ctx, f"ceiling (bare Django), {n} clients: {f['achieved_rps']:.1f}/s, errors {f['errors'] or 0}{_why(r)}")
    ctx.results["home_ceiling_reads_per_s"] = ceiling


# --- fan-out completion, looked up in-process ----------------------------------------------------------------------


def _home_store() -> Callable[[int, set[int]], set[int]]:
    """Which of some accounts hold a post in their home timeline: the timelines store
    (rostra.timelines.store: database rows or Redis sorted sets) when it exists, else HomeEntry rows."""
    try:
        from rostra.timelines.store import get_store
    except ImportError:
        from rostra.timelines.models import HomeEntry

        return lambda pid, candidates: set(HomeEntry.objects.filter(post_id=pid).values_list("owner_id", flat=True)) & candidates
    store = get_store()
    return lambda pid, candidates: set(store.owners_of(pid, candidates)) & candidates


def _expected_recipients(post_ids: Sequence[int]) -> dict[int, set[int]]:
    """Whose home timelines each post should reach: what fan-out itself computes (home_recipients)."""
    from rostra.posts.models import VISIBLE_STATES, Post
    from rostra.timelines import actions

    # A post the screener held (or a moderator removed) is fanned out to nobody until it is released.
    return {
        post.pk: set(actions.home_recipients(post)) if post.moderation_state in VISIBLE_STATES else set()
        for post in Post.objects.filter(pk__in=list(post_ids))
    }


def _pending_events(since: float) -> int:
    from datetime import UTC, datetime

    from rostra.core.models import Event

    return Event.objects.filter(done_at__isnull=True, created_at__gte=datetime.fromtimestamp(since, UTC)).count()


class _Delivery:
    """Tracks which expected recipients already have each post; asks the store only about the rest."""

    def __init__(self) -> None:
        self.owners_of = _home_store()
        self.expected: dict[int, int] = {}
        self.held = 0  # posts the screener held: they reach no home timeline
        self.missing: dict[int, set[int]] = {}

    def watch(self, post_ids: Sequence[int]) -> None:
        new = [p for p in post_ids if p not in self.missing]
        for pid, recipients in _expected_recipients(new).items():
            self.expected[pid] = len(recipients)
            self.held += not recipients
            self.missing[pid] = recipients

    def poll(self) -> int:
        """Deliveries still missing, after asking the store."""
        for pid, rest in self.missing.items():
            if rest:
                rest -= self.owners_of(pid, rest)
        return sum(len(rest) for rest in self.missing.values())


def posts_per_s(ctx: BenchContext) -> None:
    """POST at rising rates; a rate counts only if every post was accepted and its fan-out completed
    within max(3 s, one step) after the last post was scheduled (30 s in the test suite's quick run)."""
    readers = _readers(ctx)
    best = 0.0
    for rate in _rates(10, ctx.quick, (2, 4), factor=2.0, top=5000):
        rng = random.Random(int(rate))
        created: list[int] = []

        def src(i: int, rng: random.Random = rng) -> Request:
            return Request(
                "POST",
                "/api/v1/statuses",
                rng.choice(readers)[0],
                {"status": sample_post_text(rng)},
                tag="post",
            )

        def heard(req: Request, resp: Response, created: list[int] = created) -> None:
            if sid := _status_id(resp):
                created.append(int(sid))

        since = time.time() - 1.0  # Event.created_at is the server's clock: same machine, one second of slack
        started = time.monotonic()
        r = run_open(ctx.base_url, src, rate, ctx.step_seconds, on_response=heard, timeout=max(5.0, ctx.step_seconds))
        f = r.figures()
        grace = 30.0 if ctx.quick else max(3.0, ctx.step_seconds)  # quick: the test suite's busy machine
        grace_until = started + ctx.step_seconds + grace
        delivery = _Delivery()
        done = False
        while True:
            delivery.watch(created)
            if not _pending_events(since) and not delivery.poll():
                done = True
                break
            if time.monotonic() > grace_until:
                break
            time.sleep(0.05)
        drained = time.monotonic() - started
        ok = done and f["error_rate"] == 0 and f["completed"] >= 0.95 * rate * ctx.step_seconds
        _note(
            ctx,
            f"posts {rate:g}/s: {f['completed']} accepted ({f['achieved_rps']:.1f}/s, p99 {f['p99_ms']:.0f} ms, "
            f"errors {f['errors'] or 0}{_why(r)}), fan-out to {sum(delivery.expected.values())} timelines ({delivery.held} posts held) "
            f"{'complete' if done else 'NOT complete'} {drained:.1f} s after the first post -> {'ok' if ok else 'too fast'}",
        )
        if not ok:
            break
        best = max(best, round(f["achieved_rps"], 1))
    ctx.results["posts_per_s"] = best


def celebrity_fanout(ctx: BenchContext) -> None:
    """The celebrity posts once; time from the request until 50/99/100 % of its audience has it at home."""
    timeout = 30.0 if ctx.quick else 120.0
    started = time.monotonic()
    resp = call(
        ctx.base_url,
        Request(
            "POST",
            "/api/v1/statuses",
            ctx.community.celebrity_token,
            {"status": f"Hello everyone, a word from the celebrity ({secrets.token_hex(3)})."},
        ),
    )
    sid = _status_id(resp)
    if sid is None:
        raise RuntimeError(f"the celebrity could not post: HTTP {resp.status} {resp.body[:200]!r} {resp.error}")
    pid = int(sid)
    delivery = _Delivery()
    delivery.watch([pid])
    expected = delivery.expected.get(pid, 0)
    marks = {50: 0.5, 99: 0.99, 100: 1.0}
    reached: dict[int, float] = {}
    n = 0
    while len(reached) < len(marks) and time.monotonic() - started < timeout:
        n = expected - delivery.poll()
        now = time.monotonic() - started
        for pct, share in marks.items():
            if pct not in reached and n >= share * expected:
                reached[pct] = now
        time.sleep(0.01)
    for pct in marks:
        ctx.results[f"celebrity_fanout_{pct}pct_s"] = round(reached.get(pct, timeout), 3)
    _note(
        ctx,
        f"celebrity post to {expected} home timelines: "
        + ", ".join(
            f"{pct} % in {reached[pct]:.2f} s" if pct in reached else f"{pct} % NOT reached in {timeout:g} s ({n} of {expected})"
            for pct in marks
        ),
    )


def signups_per_s(ctx: BenchContext) -> None:
    """Sign-ups through POST /api/v1/accounts with the app's token, 8 concurrent clients (2 when quick)."""
    run = secrets.token_hex(3)
    token = ctx.community.app_token
    password = f"Violet-tide-over-{secrets.token_hex(4)}"  # unlike any username or email

    def src(i: int) -> Request:
        return Request(
            "POST",
            "/api/v1/accounts",
            token,
            {
                "username": f"s{run}{i}",
                "email": f"s{run}{i}@bench.example",
                "password": password,
                "agreement": True,
                "locale": "en",
            },
            tag="signup",
        )

    r = run_closed(ctx.base_url, src, 2 if ctx.quick else 8, ctx.step_seconds, timeout=30.0)
    f = r.figures("signup")
    ctx.results["signups_per_s"] = round(f["achieved_rps"], 2)
    _note(
        ctx,
        f"sign-ups: {f['completed']} in {ctx.step_seconds:g} s ({f['achieved_rps']:.1f}/s), p99 {f['p99_ms']:.0f} ms, "
        f"errors {f['errors'] or 0}{_why(r)}",
    )


SCENARIOS: list[tuple[str, Callable[[BenchContext], None]]] = [
    ("home_reads", home_reads),
    ("mixed_knee", mixed_knee),
    ("posts_per_s", posts_per_s),
    ("celebrity_fanout", celebrity_fanout),
    ("signups", signups_per_s),
]


def context_from_json(doc: dict[str, Any]) -> BenchContext:
    """A BenchContext from its JSON form (``dataclasses.asdict`` of one, paths as strings)."""
    doc = dict(doc)
    community = Community(**doc.pop("community"))
    doc["data_dir"] = Path(doc["data_dir"])
    return BenchContext(community=community, **doc)


def context_to_json(ctx: BenchContext) -> dict[str, Any]:
    doc = dataclasses.asdict(ctx)
    doc["data_dir"] = str(ctx.data_dir)
    return doc


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.suite.scenarios", description="Run HTTP scenarios against a running server."
    )
    parser.add_argument("--context", required=True, type=Path, help="a BenchContext as JSON (see context_to_json)")
    parser.add_argument("--only", nargs="*", choices=[name for name, _ in SCENARIOS], help="scenarios to run (default: all)")
    args = parser.parse_args(argv)
    try:
        ctx = context_from_json(json.loads(args.context.read_text()))
    except (OSError, ValueError, TypeError, KeyError) as exc:
        print(f"scenarios: {args.context}: not a usable context ({exc})", file=sys.stderr)
        return 2
    import os

    os.environ.update(ctx.env)  # the server's settings: its database, Redis and data dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rostra.config.settings")
    import django

    django.setup()
    for name, fn in SCENARIOS:
        if args.only is None or name in args.only:
            print(f"scenario {name}", file=sys.stderr, flush=True)
            fn(ctx)
    print(json.dumps({"results": ctx.results, "notes": ctx.notes}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
