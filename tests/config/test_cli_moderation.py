"""`rostra moderation screen | eval | train`, called as a person would call them."""

from __future__ import annotations

import copy
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rostra.config.cli import main
from rostra.moderation import gate
from rostra.moderation.models import PolicyVersion
from rostra.moderation.policy import ACTIONS, default_document
from rostra.moderation.screener import CATEGORIES

RBIN = str(Path(sys.executable).parent / "rostra")
THREAT = "I will kill you tomorrow, I know where you live"
BENIGN = "Lovely sunset at the beach today, the kids loved it"
WAVE = "Check out my new cooking blog, fresh recipes every single day of the week"

# The shipped policy decides here, not the lenient one tests of other features run under (tests/conftest.py).
pytestmark = pytest.mark.screening


@pytest.fixture
def fresh_gate(monkeypatch):
    """A screener of its own (an empty near-duplicate memory), as a new `rostra` process has."""
    monkeypatch.setattr(gate, "_screener", None)
    monkeypatch.setattr(gate, "_rules_for", None)
    monkeypatch.setattr(gate, "_policies", {})


def screen(monkeypatch, capsys, data: str | bytes) -> tuple[int, list[dict], str]:
    raw = data.encode() if isinstance(data, str) else data
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8"))
    code = main(["moderation", "screen"])
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines()], captured.err


def jsonl(*records: object) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)


# --- screen -------------------------------------------------------------------------------------


def test_screen_decides_each_line_in_order_with_every_score(db, fresh_gate, monkeypatch, capsys):
    code, out, err = screen(monkeypatch, capsys, jsonl({"text": THREAT}, {"text": BENIGN}, {"text": "what a match last night", "spoiler_text": "football"}))
    assert code == 0 and err == ""
    assert [o["line"] for o in out] == [1, 2, 3]
    for o in out:
        assert set(o["scores"]) == set(CATEGORIES)
        assert all(isinstance(s, float) and 0.0 <= s <= 1.0 for s in o["scores"].values())
        assert o["decision"] in ACTIONS
        for key in ("category", "rule", "reason", "label", "state", "model_version", "policy_version", "stage", "borderline"):
            assert key in o
        assert o["model_version"].startswith("stage1-") and o["policy_version"] == 0 and o["stage"] == 1
    threat, benign = out[0], out[1]
    assert threat["decision"] == "hold" and threat["category"] == "violence" and threat["state"] == "held"
    assert threat["rule"].startswith("violence.") and "violence" in threat["reason"]
    assert benign["decision"] == "publish" and benign["category"] == "" and benign["state"] == "published"


def test_bad_lines_are_reported_in_order_and_the_rest_is_screened(db, fresh_gate, monkeypatch, capsys):
    data = (
        jsonl(
            {"text": BENIGN},
            "not json",
            {"txt": "typo"},
            {"text": 42},
            "",  # blank lines are skipped, not errors
            ["a", "list"],
            {"text": "fine", "new_account": "yes"},
            {"text": "fine", "spoiler_text": 3},
        ).encode()
        + b"\xff\xfe not utf-8\n"
        + jsonl({"text": THREAT}).encode()
    )
    code, out, err = screen(monkeypatch, capsys, data)
    assert code == 1
    assert [o["line"] for o in out] == [1, 2, 3, 4, 6, 7, 8, 9, 10]
    assert "decision" in out[0] and "decision" in out[-1] and out[-1]["decision"] == "hold"
    errors = [o["error"] for o in out[1:-1]]
    assert [e.split(":")[0] for e in errors] == ["line 2", "line 3", "line 4", "line 6", "line 7", "line 8", "line 9"]
    assert "invalid JSON" in errors[0] and '"text"' in errors[1] and '"text"' in errors[2]
    assert "new_account" in errors[4] and "spoiler_text" in errors[5] and "UTF-8" in errors[6]
    assert "7 input line(s)" in err


def only_violence(**changes: object) -> dict:
    """The shipped policy with every threshold removed but the violence ones given here."""
    document = copy.deepcopy(default_document())
    for category in document["categories"].values():
        category["thresholds"], category["new_account_thresholds"] = [], []
    document["categories"]["violence"].update(changes)
    return document


def test_the_policy_in_force_comes_from_the_database(db, fresh_gate, monkeypatch, capsys):
    document = only_violence(new_account_thresholds=[{"score": 0.5, "action": "limit"}])
    document["rules"] = [{"id": "r1", "kind": "keyword", "pattern": "cooking blog", "category": "spam", "action": "label"}]
    PolicyVersion.objects.create(version=3, document=document)
    code, out, _ = screen(monkeypatch, capsys, jsonl({"text": THREAT}, {"text": THREAT, "new_account": True}, {"text": WAVE}))
    assert code == 0
    assert all(o["policy_version"] == 3 for o in out)
    assert out[0]["decision"] == "publish" and out[0]["category"] == ""
    assert out[1]["decision"] == "limit" and out[1]["rule"] == "violence.new_account_thresholds[0]"
    assert out[2]["decision"] == "label" and out[2]["rule"] == "rule:r1" and out[2]["matched_rules"] == ["r1"]


def test_a_batch_is_a_spam_wave_only_when_authors_are_given(db, fresh_gate, monkeypatch, capsys):
    anonymous = [{"text": WAVE}] * 6
    code, out, _ = screen(monkeypatch, capsys, jsonl(*anonymous))
    assert code == 0 and not any(o["rule"] == "spam_wave" for o in out)
    signed = [{"text": WAVE, "author": name} for name in ("ann", "bob", "cy", "dee", "eve")]
    code, out, _ = screen(monkeypatch, capsys, jsonl(*signed))
    assert code == 0
    assert [o["rule"] == "spam_wave" for o in out] == [False, False, False, False, True]
    assert out[-1]["decision"] == "hold" and out[-1]["category"] == "spam"


def _draft(tmp_path: Path, **changes: object) -> Path:
    path = tmp_path / "draft-policy.json"
    path.write_text(json.dumps(only_violence(**changes) if changes else default_document()))
    return path


def test_a_draft_policy_decides_instead_of_the_one_in_force(db, fresh_gate, monkeypatch, capsys, tmp_path):
    draft = _draft(tmp_path, thresholds=[{"score": 0.99, "action": "label"}], label="Threat")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(jsonl({"text": THREAT}).encode()), encoding="utf-8"))
    assert main(["moderation", "screen", "--policy", str(draft)]) == 0
    (out,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert out["decision"] == "label" and out["label"] == "Threat" and out["policy_version"] == -1
    # ... and only for that run.
    code, (after,), _ = screen(monkeypatch, capsys, jsonl({"text": THREAT}))
    assert code == 0 and after["decision"] == "hold" and after["policy_version"] == 0


def test_an_invalid_draft_policy_is_refused_naming_the_problem(db, fresh_gate, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(jsonl({"text": THREAT}).encode()), encoding="utf-8"))
    draft = _draft(tmp_path, thresholds=[{"score": 1.5, "action": "hold"}])
    assert main(["moderation", "screen", "--policy", str(draft)]) == 2
    captured = capsys.readouterr()
    assert "categories.violence.thresholds[0].score" in captured.err and captured.out == ""
    assert main(["moderation", "screen", "--policy", str(tmp_path / "missing.json")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_stage2_redecides_borderline_posts_with_the_real_encoder(db, fresh_gate, monkeypatch, capsys):
    lines = jsonl({"text": THREAT}, {"text": "the game tonight is going to be tense, bring snacks"})
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(lines.encode()), encoding="utf-8"))
    assert main(["moderation", "screen", "--stage2"]) == 0
    threat, game = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert threat["decision"] == "hold" and threat["category"] == "violence"
    for out in (threat, game):
        assert set(out["scores"]) == set(CATEGORIES) and all(0.0 <= v <= 1.0 for v in out["scores"].values())
        if out["stage"] == 2:  # borderline: stage 2 re-scored it, and says so
            assert "+stage2-" in out["model_version"] and "stage1" in out


def test_stage2_that_cannot_load_stops_before_reading(db, fresh_gate, monkeypatch, capsys):
    from rostra.moderation.screener import encoder

    def broken(**_options):
        raise RuntimeError("the encoder package is not installed")

    monkeypatch.setattr(encoder, "load_stage2", broken, raising=False)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(jsonl({"text": THREAT}).encode()), encoding="utf-8"))
    assert main(["moderation", "screen", "--stage2"]) == 2
    captured = capsys.readouterr()
    assert "stage 2 is unavailable: the encoder package is not installed" in captured.err and captured.out == ""


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROSTRA_", "DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    env.update(ROSTRA_DATA_DIR=str(tmp_path / "data"))
    return env


def test_screen_on_an_unmigrated_database_says_to_migrate(tmp_path):
    proc = subprocess.run(
        [RBIN, "moderation", "screen"], input='{"text": "hi"}\n', check=False, env=_env(tmp_path), capture_output=True, text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert "rostra migrate" in proc.stderr and "Traceback" not in proc.stderr
    # A draft policy needs no database.
    draft = _draft(tmp_path)
    proc = subprocess.run(
        [RBIN, "moderation", "screen", "--policy", str(draft)], input=json.dumps({"text": THREAT}) + "\n", check=False, env=_env(tmp_path),
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["decision"] == "hold"


def test_screen_answers_each_line_as_it_arrives(tmp_path):
    env = _env(tmp_path)
    subprocess.run([RBIN, "migrate"], check=True, env=env, capture_output=True, timeout=120)
    proc = subprocess.Popen([RBIN, "moderation", "screen"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        assert proc.stdin is not None and proc.stdout is not None
        for n, text in enumerate((BENIGN, THREAT), 1):
            proc.stdin.write(json.dumps({"text": text}) + "\n")
            proc.stdin.flush()
            answer = json.loads(proc.stdout.readline())  # stdin is still open: the answer was flushed
            assert answer["line"] == n
        assert answer["decision"] == "hold"
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# --- eval ---------------------------------------------------------------------------------------

LABELLED = [
    (THREAT, 1, 0),
    ("I am going to stab you when you are asleep", 1, None),
    ("What a match last night, they destroyed the defence", 0, 0),
    (BENIGN, 0, 0),
    ("Buy 10000 followers cheap now, limited offer, click the link in bio", 0, 1),
    ("Free crypto giveaway!!! send 1 btc get 2 back, dm me now", 0, 1),
]


def test_eval_prints_metrics_for_a_csv(tmp_path, capsys):
    path = tmp_path / "labelled.csv"
    lines = ["text,violence,spam"] + [f'"{t}",{v},{"" if s is None else s}' for t, v, s in LABELLED]
    path.write_text("\n".join(lines) + "\n")
    assert main(["moderation", "eval", str(path)]) == 0
    out = capsys.readouterr().out
    assert "6 labelled rows" in out
    for column in ("ROC AUC", "AP", "P@R80", "P@R90"):
        assert column in out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.split() and line.split()[0] in CATEGORIES}
    assert set(rows) == {"violence", "spam"}
    assert rows["violence"][1:3] == ["2", "4"] and rows["spam"][1:3] == ["2", "3"]


def test_eval_json_for_a_jsonl_file(tmp_path, capsys):
    path = tmp_path / "labelled.jsonl"
    path.write_text(jsonl(*({"text": t, "category": "violence", "label": v} for t, v, _ in LABELLED)))
    assert main(["moderation", "eval", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["rows"] == 6 and doc["model_version"].startswith("stage1-")
    metrics = doc["categories"]["violence"]
    assert metrics["n_positive"] == 2 and metrics["n_negative"] == 4
    for key in ("roc_auc", "average_precision", "precision_at_80_recall", "precision_at_90_recall"):
        assert 0.0 <= metrics[key] <= 1.0
    assert set(doc["categories"]) == {"violence"}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (None, None, "no such file"),
        ("labelled.txt", "text,violence\na,1\n", "unknown format"),
        ("labelled.csv", "text,colour\nred,1\n", "no labelled rows"),
        ("labelled.csv", "text,violence\na,1\nb,1\n", "both positive and negative"),
        ("labelled.jsonl", '{"text": "a", "violence": 1}\n{oops\n', "line 2: invalid JSON"),
        ("labelled.jsonl", "[1, 2]\n", "JSON object"),
    ],
)
def test_eval_refuses_what_it_cannot_measure(tmp_path, capsys, name, content, message):
    path = tmp_path / (name or "missing.csv")
    if content is not None:
        path.write_text(content)
    assert main(["moderation", "eval", str(path)]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""


# --- train --------------------------------------------------------------------------------------


def test_train_without_the_shared_data_says_where_it_looked(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ROSTRA_MODERATION_DATA", raising=False)
    assert main(["moderation", "train", "--shared", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "nowhere") in err and "--shared" in err and "ROSTRA_MODERATION_DATA" in err
    assert not (tmp_path / "out").exists()


def test_train_reads_the_data_directory_from_the_environment(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ROSTRA_MODERATION_DATA", str(tmp_path / "from-env"))
    assert main(["moderation", "train", "--out", str(tmp_path / "out")]) == 2
    assert str(tmp_path / "from-env") in capsys.readouterr().err


def test_train_refuses_an_empty_data_directory_and_a_file_as_output(tmp_path, capsys):
    (tmp_path / "shared").mkdir()
    assert main(["moderation", "train", "--shared", str(tmp_path / "shared")]) == 2
    assert "no shared training data" in capsys.readouterr().err
    (tmp_path / "shared" / "youtube_spam").mkdir()
    (tmp_path / "model.npz").write_text("")
    assert main(["moderation", "train", "--shared", str(tmp_path / "shared"), "--out", str(tmp_path / "model.npz")]) == 2
    assert "not a directory" in capsys.readouterr().err


def test_train_rejects_a_seed_that_is_not_a_number(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["moderation", "train", "--seed", "lots"])
    assert exc.value.code == 2 and "--seed" in capsys.readouterr().err


def test_train_includes_the_moderators_decisions_and_says_how_many(db, tmp_path, capsys, monkeypatch):
    import types

    from rostra.moderation.screener import train as trainer
    from rostra.moderation.screener import train_stage2 as stage2_trainer

    (tmp_path / "shared" / "youtube_spam").mkdir(parents=True)
    decisions = [("you are all idiots and I will find you", "harassment", 1), ("see you at the match", "violence", 0)]
    monkeypatch.setitem(sys.modules, "rostra.moderation.queries", types.SimpleNamespace(training_decisions=lambda: decisions))
    seen = {}

    def fake_train(shared, out, seed, **kwargs):
        seen.update(shared=shared, out=out, seed=seed, **kwargs)
        return types.SimpleNamespace(summary=lambda: "summary of the run", model_version="stage1-fake")

    def fake_train_stage2(shared, out, seed, **kwargs):
        seen.update(stage2_decisions=kwargs.get("decisions"))
        return types.SimpleNamespace(summary=lambda: "stage 2 summary")

    monkeypatch.setattr(trainer, "train", fake_train)
    monkeypatch.setattr(stage2_trainer, "train_stage2", fake_train_stage2)
    args = ["moderation", "train", "--shared", str(tmp_path / "shared"), "--out", str(tmp_path / "out"), "--seed", "7"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "with 2 moderator decision(s)" in out and "summary of the run" in out and "stage1-fake" in out
    assert seen["decisions"] == decisions and seen["seed"] == 7 and seen["progress"] is True
    assert "stage 2 summary" in out and seen["stage2_decisions"] == decisions
    assert seen["shared"] == tmp_path / "shared" and seen["out"] == tmp_path / "out"
    assert main([*args, "--no-decisions"]) == 0
    assert "with 0 moderator decision(s)" in capsys.readouterr().out and seen["decisions"] == []


def test_moderation_help_names_the_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["moderation", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for word in ("screen", "eval", "train", "JSON Lines", "ROC AUC"):
        assert word in out
