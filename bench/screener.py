"""Screener figures: stage 0 + stage 1 throughput and per-post latency, one process.

    .venv/bin/python -m bench.screener [--posts 5000] [--rules 200]

Screens a deterministic mix of microblog-like posts (short chat, links, mentions, hashtags,
evasions, a few long posts) with the committed model, a realistic rule set (keywords and
regexes) and the near-duplicate index on, and prints a table. No Django, no database.
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
    args = parser.parse_args()

    from rostra.moderation.screener import Screener
    from rostra.moderation.screener.normalise import normalise

    started = time.perf_counter()
    screener = Screener.load(rules=make_rules(args.rules))
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
        ("peak RSS", f"{rss_mb:.0f} MB"),
    ]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
