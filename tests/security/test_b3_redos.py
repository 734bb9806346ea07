"""SECURITY-TESTS B3: 50,000-character pathological mentions, hashtags, URLs and emphasis parse
without catastrophic backtracking.

Tests never time anything (project rule: speed goes in ``bench/``; ``python -m bench.parser``
prints the real figures against the 100 ms target). Here each input is parsed and rendered in a
child process under a watchdog of 5 s: generous enough never to flake on a busy machine, and
still decisive, since a backtracking pattern on 50,000 characters runs for minutes or hours. A
child process, because neither a regex in C nor the sanitiser in Rust can be interrupted from
inside. The parse results are checked too, so the inputs are not silently refused.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench.parser import PATHOLOGICAL

WATCHDOG_S = 5.0
CHILD = """
import json, sys
from rostra.core.text import parse, render, render_plain
text = sys.stdin.read()
parsed = parse(text)
html = render(text, lambda user, domain: "/@" + user)
render_plain(text)
print(json.dumps({"mentions": len(parsed.mentions), "tags": len(parsed.hashtags), "links": len(parsed.links),
                  "longest_link": max(map(len, parsed.links), default=0), "longest_tag": max(map(len, parsed.hashtags), default=0),
                  "html": len(html)}))
"""


def _parse_in_child(text: str) -> dict[str, int]:
    try:
        done = subprocess.run(
            [sys.executable, "-c", CHILD], input=text, capture_output=True, text=True, timeout=WATCHDOG_S + 2.0, check=True
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"parsing did not finish within the {WATCHDOG_S:.0f} s watchdog: catastrophic backtracking")
    return dict(json.loads(done.stdout))


def test_b3_redos_inputs_are_big_enough():
    assert len(PATHOLOGICAL) >= 25
    assert all(len(text) >= 48_000 for text in PATHOLOGICAL.values())
    for kind in ("at-signs", "hashes", "long-url", "url-parens", "emphasis-stars", "mention-domains", "digit-tag"):
        assert kind in PATHOLOGICAL


@pytest.mark.parametrize("name", sorted(PATHOLOGICAL))
def test_b3_redos_pathological_input_finishes(name):
    # Interpreter start-up (about 0.3 s) is inside the watchdog too.
    result = _parse_in_child(PATHOLOGICAL[name])
    # Bounded outputs: links at most 2,048 characters plus the scheme, tags at most 100.
    assert result["longest_link"] <= 2048 + len("https://")
    assert result["longest_tag"] <= 100
    assert result["html"] > 0 or not PATHOLOGICAL[name].strip()


def test_b3_redos_results_still_make_sense():
    # The same inputs, sanity-checked in this process: the parser found what is really there.
    from rostra.core.text import parse

    assert parse(PATHOLOGICAL["mention-chain"]).mentions == [("a", "")]  # '@a@a...' is one mention and noise
    assert len(parse(PATHOLOGICAL["tag-chain"]).hashtags) <= 1
    assert parse(PATHOLOGICAL["digit-tag"]).hashtags == []
    assert [len(link) for link in parse(PATHOLOGICAL["long-url"]).links] == [2048 + len("http://")]
    assert parse(PATHOLOGICAL["url-parens"]).links == ["https://x.example/"]
