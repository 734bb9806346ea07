"""Parser figures: how long 50,000-character pathological inputs take to parse and render.

    .venv/bin/python -m bench.parser [--repeat 5]

SECURITY-TESTS B3 asks that hostile mentions, hashtags and URLs parse in under 100 ms. Tests
never time anything (a busy machine would make them flaky); ``tests/security/test_b3_redos.py``
runs the same inputs under a generous watchdog that only catches catastrophic backtracking, and
this prints the real figures: the best and the median of ``--repeat`` runs per input, for
``parse`` (what posting does to find mentions, tags and links) and ``render`` (text to
sanitised HTML, which includes the sanitiser). No Django, no database.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

from rostra.core.text import parse, render

N = 50_000

# Each input aims at one pattern's weak spot: long runs of what a token starts with, runs that
# almost match and fail at the end, nested or unbalanced brackets in URLs, and alternations.
PATHOLOGICAL: dict[str, str] = {
    "at-signs": "@" * N,
    "hashes": "#" * N,
    "mention-chain": "@a" * (N // 2),
    "mention-domains": "@a@" + "a." * (N // 2),
    "mention-dashes": "@a@" + "a-" * (N // 2),
    "mention-dots-fail": ("@" + "a" * 30 + "@" + "b." * 10 + "!") * (N // 55),
    "mention-port": "@a@b.c:" + "1" * N,
    "spaces-at": " @" * (N // 2),
    "email-like": "a@" * (N // 2),
    "digit-tag": "#" + "1" * N,
    "underscore-tag": "#" + "_" * N,
    "digits-then-letter": ("#" + "1" * 99 + "_" * 99 + " ") * (N // 200),
    "tag-chain": "#a" * (N // 2),
    "entity-like": "&#" * (N // 2),
    "long-url": "http://" + "a" * N,
    "many-urls": "http://" * (N // 7),
    "url-parens": "https://x.example/" + ")" * N,
    "url-open-parens": "https://x.example/" + "(" * (N // 2) + ")" * (N // 2),
    "url-trailing-punctuation": "https://x.example/" + ".,;:!?" * (N // 6),
    "url-near-miss": "https:/" * (N // 7),
    "url-quotes": ('https://x.example/"' * (N // 19)),
    "emphasis-stars": "*" * N,
    "emphasis-underscores": "_a" * (N // 2),
    "emphasis-nested": "**_" * (N // 3),
    "newlines": "\n" * N,
    "crlf": "\r\n" * (N // 2),
    "html-ish": "<a " * (N // 3),
    "mixed": "@#http://(" * (N // 10),
    "unicode-tag": "#" + "日本語" * (N // 3),
}


def _time(fn: object, text: str, repeat: int) -> tuple[float, float]:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn(text)  # type: ignore[operator]
        runs.append((time.perf_counter() - started) * 1000)
    return min(runs), statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"Python {platform.python_version()} on {platform.machine()}; {args.repeat} runs per input; times in ms")
    print(f"{'input':<26} {'chars':>7} {'parse best':>11} {'parse med':>10} {'render best':>12} {'render med':>11}")
    worst = 0.0
    for name, text in PATHOLOGICAL.items():
        p_best, p_med = _time(parse, text, args.repeat)
        r_best, r_med = _time(render, text, args.repeat)
        worst = max(worst, p_med)
        print(f"{name:<26} {len(text):>7} {p_best:>11.1f} {p_med:>10.1f} {r_best:>12.1f} {r_med:>11.1f}")
    print(f"worst parse median: {worst:.1f} ms (target < 100 ms)")


if __name__ == "__main__":
    main()
