"""Screener figures: stage 0 + 1, stage 2 alone, and both stages together, in one process.

    .venv/bin/python -m bench.screener [--posts 5000] [--rules 200] [--stage2-posts 1000] [--no-stage2]

Screens a deterministic mix of microblog-like posts (short chat, links, mentions, hashtags,
evasions, a few long posts) with the committed model, a realistic rule set (keywords and
regexes) and the near-duplicate index on, and prints a table. No Django, no database.

With stage 2 (the default, when it can load): the bands come from ``stage2.json``, as in
production; "stage 2 alone" runs the encoder, heads and mixture on every post; "both stages"
runs stage 1 on every post and ``Screener.deepen`` on those with a borderline category, post by
post, as the worker does, and reports per-post latency over all posts. The mix is deliberately
rich in violent and hateful words, so its borderline share is high: the table also prints the
largest borderline share at which both stages together would still reach 400 posts/s.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import statistics
import time

WORDS = (  # noqa: SIM905 - a word list reads better as text
    """
    the a we you they it this that and but so just really good bad day night game match team post
    thread coffee pizza city train work home love hate think know going got new old people friend
    family dog cat music show film book news vote rain sun weekend monday finally never always maybe
    lol omg tbh ngl
    """
).split()
PIECES = [
    "we destroyed them last night 🔥",
    "I will find you @someone",
    "check this out https://example.org/a/{n}",
    "#matchday #coys",
    "k i l l",
    "h4t3",
    "\uff46\uff55\uff4c\uff4c\uff57\uff49\uff44\uff54\uff48"  # fullwidth letters,
    "call 555-01{n:02d}",
    "my feet are killing me",
    "@friend_{n} you legend",
]


def make_posts(n: int, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    posts = []
    for i in range(n):
        length = rng.choice([6, 10, 16, 25, 40, 60]) if i % 50 else 400  # 2 % long posts
        words = [rng.choice(WORDS) for _ in range(length)]
        for _ in range(rng.randint(0, 2)):
            words.insert(rng.randrange(len(words) + 1), rng.choice(PIECES).format(n=i % 100))
        posts.append(" ".join(words))
    return posts


def make_rules(n: int) -> list[dict[str, str]]:
    rules = [
        {"id": f"kw{i}", "pattern": f"bannedword{i}", "kind": "keyword", "category": "spam", "action": "hold"} for i in range(n)
    ]
    rules += [
        {"id": "re-followers", "pattern": r"\bbuy (cheap )?followers\b", "kind": "regex", "category": "spam", "action": "refuse"},
        {"id": "re-phone", "pattern": r"\d{3}[ .-]\d{4}", "kind": "regex", "category": "private_info", "action": "hold"},
        {"id": "re-kys", "pattern": r"\bk+y+s+\b", "kind": "regex", "category": "self_harm", "action": "hold"},
    ]
    return rules


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=5000)
    parser.add_argument("--rules", type=int, default=200)
    parser.add_argument("--stage2-posts", type=int, default=1000, help="posts for the stage-2 figures")
    parser.add_argument("--no-stage2", action="store_true")
    args = parser.parse_args()

    from rostra.moderation.screener import Screener
    from rostra.moderation.screener.normalise import normalise
    from rostra.moderation.screener.stage2 import stage2_bands

    started = time.perf_counter()
    screener = Screener.load(rules=make_rules(args.rules), borderline=stage2_bands() or (0.2, 0.8))
    load_s = time.perf_counter() - started
    posts = make_posts(args.posts)
    for p in posts[:200]:  # warm the rule automaton's cache
        screener.screen(p, remember=False)

    latencies = []
    started = time.perf_counter()
    for i, p in enumerate(posts):
        t = time.perf_counter()
        screener.screen(p, author_key=f"acct:{i % 300}", now=1_000_000.0 + i * 0.1)
        latencies.append(time.perf_counter() - t)
    total = time.perf_counter() - started

    t = time.perf_counter()
    for p in posts:
        normalise(p)
    normalise_s = time.perf_counter() - t
    t = time.perf_counter()
    for p in posts:
        screener.model.scores(normalise(p))
    model_s = time.perf_counter() - t

    t = time.perf_counter()
    screener.screen("a" * 50_000, remember=False)
    patho_ms = (time.perf_counter() - t) * 1000

    latencies.sort()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = [
        ("machine", f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"),
        ("model", f"{screener.model_version}, 2^{screener.model.bits} buckets, loaded in {load_s * 1000:.0f} ms"),
        ("posts", f"{len(posts)} (mean {statistics.mean(len(p) for p in posts):.0f} chars), {len(screener.rules)} rules"),
        ("stage 0 + 1 throughput", f"{len(posts) / total:,.0f} posts/s"),
        (
            "latency p50 / p95 / p99",
            f"{latencies[len(latencies) // 2] * 1000:.2f} / {latencies[int(len(latencies) * 0.95)] * 1000:.2f} / {latencies[int(len(latencies) * 0.99)] * 1000:.2f} ms",
        ),
        ("latency max", f"{latencies[-1] * 1000:.2f} ms"),
        ("normalise only", f"{len(posts) / normalise_s:,.0f} posts/s"),
        ("normalise + model only", f"{len(posts) / model_s:,.0f} posts/s"),
        ("one 50,000-char post", f"{patho_ms:.0f} ms"),
        ("near-duplicate index", f"{len(screener.near_duplicate_index)} entries"),
        ("peak RSS, stage 0 + 1", f"{rss_mb:.0f} MB"),
    ]
    if not args.no_stage2:
        rows += stage2_rows(screener, posts[: args.stage2_posts], len(posts) / total)
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    return 0


def _ms(values: list[float], q: float) -> str:
    return f"{values[min(len(values) - 1, int(len(values) * q))] * 1000:.1f}"


def _rss() -> str:
    status = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                status[line.split(":")[0]] = float(line.split()[1]) / 1024
    return f"{status.get('VmRSS', 0):.0f} MB now, {status.get('VmHWM', 0):.0f} MB peak"


def stage2_rows(screener: object, posts: list[str], stage1_rate: float) -> list[tuple[str, str]]:
    from rostra.moderation.screener import Screener
    from rostra.moderation.screener.stage2 import load_stage2, stage2_unavailable_reason

    assert isinstance(screener, Screener)
    started = time.perf_counter()
    stage2 = load_stage2(stage1=screener.model)
    if stage2 is None:
        return [("stage 2", f"unavailable: {stage2_unavailable_reason()}")]
    load_s = time.perf_counter() - started
    first = screener.screen_many(posts)
    texts = [r.normalised_text for r in first]
    stage2.score(texts[:20], [frozenset(["violence"])] * 20)  # warm-up

    alone = []
    for t, r in zip(texts, first, strict=True):
        s = time.perf_counter()
        stage2.score([t], [frozenset(r.scores)])
        alone.append(time.perf_counter() - s)
    alone_total = sum(alone)

    both = []
    deepened = 0
    started = time.perf_counter()
    for i, p in enumerate(posts):
        s = time.perf_counter()
        result = screener.screen(p, author_key=f"acct:{i % 300}", now=2_000_000.0 + i * 0.1)
        if result.borderline:
            screener.deepen([result], stage2)
            deepened += 1
        both.append(time.perf_counter() - s)
    both_total = time.perf_counter() - started
    alone.sort()
    both.sort()
    share = deepened / len(posts)
    per_stage2 = alone_total / len(posts)
    budget = (1 / 400 - 1 / stage1_rate) / per_stage2  # the borderline share at which both stages make 400 posts/s
    band_text = ", ".join(f"{c} {lo:.2f}" for c, (lo, _hi) in screener.borderline_bands.items())
    return [
        (
            "stage 2",
            f"{stage2.version} (encoder {stage2.encoder.version}, {getattr(stage2.encoder, 'threads', '?')} threads), loaded in {load_s:.1f} s",
        ),
        ("stage 2 bands (low; high 1)", band_text),
        ("stage 2 alone", f"{len(posts) / alone_total:,.0f} posts/s, p50 / p95 {_ms(alone, 0.5)} / {_ms(alone, 0.95)} ms"),
        ("borderline share of this mix", f"{share:.1%} ({deepened} of {len(posts)} posts go to stage 2)"),
        (
            "both stages, one process",
            f"{len(posts) / both_total:,.0f} posts/s, p50 / p95 {_ms(both, 0.5)} / {_ms(both, 0.95)} ms",
        ),
        ("share that would allow 400/s", f"{max(budget, 0):.1%} borderline at most, at these stage 1 and stage 2 speeds"),
        ("RSS with stage 2", _rss()),
    ]


if __name__ == "__main__":
    raise SystemExit(main())
