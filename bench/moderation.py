"""What trust and safety adds to posting: the gate's latency inside the request, and stage 2 in the worker.

    .venv/bin/python -m bench.moderation [--posts 1000]

On a fresh SQLite data dir (or DATABASE_URL): posts a realistic mix (mostly everyday posts, some
threats, spam and look-alikes from the project's authored data) with ``create_post`` twice — once
under a policy that publishes everything without screening cost in the decision, once under the
shipped policy — and prints p50/p95 of ``screen_post`` alone, of ``create_post`` with and without
the screen, the added latency, and how long the deep screen takes per borderline post in the
worker. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=1000)
    args = parser.parse_args()

    os.environ.setdefault("ROSTRA_DATA_DIR", tempfile.mkdtemp(prefix="rostra-bench-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "rostra.config.settings"
    import django

    django.setup()
    from django.core.management import call_command

    from rostra.accounts.models import Account, User
    from rostra.core.clock import now
    from rostra.core.errors import ValidationError
    from rostra.moderation import actions, gate
    from rostra.moderation.models import Decision
    from rostra.moderation.policy import Policy, default_document
    from rostra.posts.actions import Draft, create_post

    call_command("migrate", verbosity=0)
    data = Path(__file__).resolve().parents[1] / "rostra" / "moderation" / "data"
    texts: list[str] = []
    for f in sorted(data.glob("*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(json.loads(line)["text"])
    rng = random.Random(3)
    everyday = [json.loads(x)["text"] for x in (data / "everyday.jsonl").read_text().splitlines() if x.strip()]
    # Real traffic is mostly ordinary: 85 % everyday posts, 15 % from the flagged sets.
    mix = [rng.choice(everyday) if rng.random() < 0.85 else rng.choice(texts) for _ in range(args.posts)]
    unusable = "!"  # an unusable password, as Django writes it
    users = User.objects.bulk_create([User(username=f"b{i}", email=f"b{i}@example.org", password=unusable) for i in range(50)])
    Account.objects.bulk_create([Account(user=u, username=u.username) for u in users])
    Account.objects.update(created_at=now() - timedelta(days=90))
    accounts = list(Account.objects.all())

    lenient_doc = json.loads(json.dumps(default_document()))
    for c in lenient_doc["categories"].values():
        c["thresholds"], c["new_account_thresholds"] = [], []
    lenient = Policy.from_document(lenient_doc)

    gate.get_screener()  # load outside the timings
    screen_ms: list[float] = []
    for i, text in enumerate(mix):
        t = time.perf_counter()
        gate.screen_post(author_id=accounts[i % len(accounts)].pk, text=text, spoiler_text="", remember=False)
        screen_ms.append((time.perf_counter() - t) * 1000)

    refused: dict[str, int] = {}

    def post_all(tag: str) -> list[float]:
        out = []
        for i, text in enumerate(mix):
            a = accounts[i % len(accounts)]
            t = time.perf_counter()
            try:
                create_post(a, Draft(text=f"{text} {tag}{i}"))
            except ValidationError:  # refused by the policy: still a timed request
                refused[tag] = refused.get(tag, 0) + 1
            out.append((time.perf_counter() - t) * 1000)
        return out

    with gate.using_policy(lenient):
        base = post_all("a")
    gate.get_screener().near_duplicate_index.clear()
    screened = post_all("b")

    borderline = list(
        Decision.objects.filter(source="create", post__isnull=False).exclude(borderline=[]).values_list("post_id", flat=True)[:200]
    )
    stage2 = actions.get_stage2()
    deep_ms: list[float] = []
    if stage2 is not None and borderline:
        actions.deep_screen(borderline[0])  # warm up
        for pid in borderline[1:]:
            t = time.perf_counter()
            actions.deep_screen(pid)
            deep_ms.append((time.perf_counter() - t) * 1000)
    gate.get_screener().near_duplicate_index.clear()  # the mix repeats texts: no spam waves below

    def distribution(pool: list[str], deep: bool = False) -> str:
        counts: dict[str, int] = {}
        _, policy = gate.active_policy()
        for text in pool:
            d = gate.screen_post(author_id=0, text=text, spoiler_text="", remember=False)
            action = d.action
            if deep and d.borderline and stage2 is not None:
                screener = gate.get_screener()
                [r] = screener.deepen([screener.screen(text, remember=False)], stage2)
                action = policy.decide(r.scores, matched_rules=r.matched_rules).action
            counts[action] = counts.get(action, 0) + 1
        return ", ".join(f"{k} {v / len(pool):.0%}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))

    flagged = [t for t in texts if t not in set(everyday)]
    n_borderline = sum(1 for t in mix if gate.screen_post(author_id=0, text=t, spoiler_text="", remember=False).borderline)

    rows = [
        ("posts", str(args.posts)),
        ("screen_post p50 / p95", f"{_pct(screen_ms, 0.5):.2f} / {_pct(screen_ms, 0.95):.2f} ms"),
        ("create_post, no screen cost p50 / p95", f"{_pct(base, 0.5):.2f} / {_pct(base, 0.95):.2f} ms"),
        ("create_post, screened p50 / p95", f"{_pct(screened, 0.5):.2f} / {_pct(screened, 0.95):.2f} ms"),
        ("added latency p95", f"{_pct(screened, 0.95) - _pct(base, 0.95):.2f} ms"),
        (f"stage-1 decisions, everyday posts ({len(everyday)})", distribution(everyday)),
        (f"stage-1 decisions, authored category files ({len(flagged)})", distribution(flagged)),
        ("after stage 2, everyday posts", distribution(everyday, deep=True) if stage2 else "stage 2 unavailable"),
        ("after stage 2, authored category files", distribution(flagged, deep=True) if stage2 else "stage 2 unavailable"),
        ("borderline (sent to stage 2), the mix", f"{n_borderline / len(mix):.1%}"),
        (
            "deep_screen per borderline post (worker)",
            f"p50 {_pct(deep_ms, 0.5):.1f} / p95 {_pct(deep_ms, 0.95):.1f} ms ({len(deep_ms)} posts)" if deep_ms else "stage 2 unavailable",
        ),
        ("mean create_post screened", f"{statistics.fmean(screened):.2f} ms"),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
