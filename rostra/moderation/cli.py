"""``rostra moderation screen | eval | train``: the trust-and-safety tools on the command line.

``rostra.config.cli`` owns the parser and Django's setup and calls these; they take their streams
as arguments so tests can drive them. Each returns the process's exit status: 0 done, 1 some input
lines were bad (``screen``), 2 the command could not run (missing file, database not migrated, ...).

- ``screen`` runs every JSON line of its input through ``gate.screen_post`` — the path a post takes
  when it is written, with the policy in force in this instance's database — and writes one JSON
  line per input line, flushed as it goes, so it can sit in a pipe over a file of any size.
- ``evaluate`` measures a stage-1 model on a labelled CSV or JSONL file (no database needed).
- ``train`` retrains the stage-1 heads from the shared public sets, the project's authored
  examples and, when the database has them, the moderators' decisions.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

EXIT_OK, EXIT_BAD_LINES, EXIT_CANNOT_RUN = 0, 1, 2
EVAL_SUFFIXES = (".csv", ".jsonl", ".ndjson", ".json")
SHARED_SOURCES = ("davidson/labeled_data.csv", "ethos", "youtube_spam")  # what screener.sources reads; any one will do
# rostra/moderation/cli.py → the repository root (an editable install: the working tree).
REPO_ROOT = Path(__file__).resolve().parents[2]


def _err(stderr: TextIO, message: str) -> None:
    print(f"rostra: {message}", file=stderr, flush=True)


# --- the database -----------------------------------------------------------------------------------


def database_problem() -> str | None:
    """Why the gate cannot read the policy from this database, or None when it can."""
    from django.db import DEFAULT_DB_ALIAS, connections
    from django.db.migrations.executor import MigrationExecutor

    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:  # noqa: BLE001 - any failure here means "cannot use the database"; say why
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"cannot read the database ({first}); check DATABASE_URL, then run `rostra migrate`"
    if plan:
        return f"the database is not migrated ({len(plan)} migration(s) to apply): run `rostra migrate` first"
    return None


# --- screen -----------------------------------------------------------------------------------------


def _input_lines(stream: TextIO) -> Iterator[tuple[int, str | None, str]]:
    """(line number, text or None, why not) for each line, read one at a time (never the whole input).

    Reads bytes when the stream has them, so one line that is not UTF-8 is an error for that line
    rather than the end of the run.
    """
    raw = getattr(stream, "buffer", None)
    if raw is not None:
        for n, data in enumerate(iter(raw.readline, b""), 1):
            if n == 1 and data.startswith(b"\xef\xbb\xbf"):
                data = data[3:]
            try:
                yield n, data.decode("utf-8"), ""
            except UnicodeDecodeError as exc:
                yield n, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})"
    else:
        for n, line in enumerate(iter(stream.readline, ""), 1):
            yield n, line.removeprefix("\ufeff") if n == 1 else line, ""


def _parse(line: str) -> tuple[dict[str, Any] | None, str]:
    """The validated fields of one input line, or None and what is wrong with it."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON ({exc.msg} at column {exc.colno})"
    if not isinstance(record, dict):
        return None, 'expected a JSON object such as {"text": "..."}'
    text = record.get("text")
    if not isinstance(text, str):
        return None, '"text" is missing or not a string' if text is None else '"text" must be a string'
    spoiler = record.get("spoiler_text")
    if spoiler is not None and not isinstance(spoiler, str):
        return None, '"spoiler_text" must be a string'
    author = record.get("author")
    if author is not None and (isinstance(author, bool) or not isinstance(author, str | int)):
        return None, '"author" must be a string'
    new_account = record.get("new_account")
    if new_account is not None and not isinstance(new_account, bool):
        return None, '"new_account" must be true or false'
    return {
        "text": text,
        "spoiler_text": spoiler or "",
        "author": None if author is None else str(author),
        "new_account": bool(new_account),
    }, ""


def _write(stdout: TextIO, obj: dict[str, Any]) -> None:
    stdout.write(json.dumps(obj) + "\n")
    stdout.flush()


DRAFT_POLICY_VERSION = -1  # what "policy_version" says under --policy: a draft, never saved


def load_draft_policy(path: str, stderr: TextIO) -> Any:
    """The ``Policy`` in a JSON file (the document the admin page edits), or None after saying what is wrong."""
    from rostra.moderation.policy import Policy, PolicyError

    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        _err(stderr, f"--policy {path}: no such file")
        return None
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        _err(stderr, f"--policy {path}: not a JSON document ({exc})")
        return None
    try:
        return Policy.from_document(document)
    except PolicyError as exc:
        for where, messages in exc.errors.items():
            for message in messages:
                _err(stderr, f"--policy {path}: {where}: {message}")
        return None


def stage2_loader() -> Callable[..., Any] | None:
    """``screener.encoder.load_stage2`` when this version has it (``--stage2`` exists only then)."""
    try:
        from rostra.moderation.screener import encoder
    except ImportError:
        return None
    loader = getattr(encoder, "load_stage2", None)
    return loader if callable(loader) else None


def _load_stage2(stderr: TextIO) -> Any:
    loader = stage2_loader()
    if loader is None:
        _err(stderr, "stage 2 is not available in this version of Rostra")
        return None
    print("rostra: loading stage 2 (the first run builds the encoder)...", file=stderr, flush=True)
    try:
        from rostra.moderation import gate

        stage2 = loader(stage1=gate.get_screener().model)
    except Exception as exc:  # noqa: BLE001 - EncoderUnavailable, a missing package, a broken cache: say why and stop
        _err(stderr, f"stage 2 is unavailable: {exc}")
        return None
    if stage2 is None:
        from rostra.moderation.screener.encoder import unavailable_reason

        _err(stderr, f"stage 2 is unavailable: {unavailable_reason() or 'unknown reason'}")
    return stage2


def screen(
    stdin: TextIO, stdout: TextIO, stderr: TextIO, *, policy_file: str | None = None, stage2: bool = False
) -> int:
    """Screen each JSON line of ``stdin`` with the gate and the policy in force; see the module docstring.

    With ``policy_file``, the draft policy in that file decides instead (``gate.using_policy``),
    and the database is not needed. With ``stage2``, a post stage 1 found borderline is re-scored
    by stage 2 and decided again, as the worker does before fan-out (``actions.deep_screen``).

    Near-duplicate (spam wave) memory: a line with an ``author`` is remembered under that author,
    as the gate does for a real post, so several authors posting the same text in one batch form a
    wave. A line without one is checked against what was remembered but is not remembered itself,
    so a batch of unrelated, unattributed posts never looks like a wave.
    """
    draft = None
    if policy_file is not None:
        draft = load_draft_policy(policy_file, stderr)
        if draft is None:
            return EXIT_CANNOT_RUN
    else:
        problem = database_problem()
        if problem:
            _err(stderr, problem)
            return EXIT_CANNOT_RUN
    deep = None
    if stage2:
        deep = _load_stage2(stderr)
        if deep is None:
            return EXIT_CANNOT_RUN
    if draft is None:
        return _screen_lines(stdin, stdout, stderr, deep)
    from rostra.moderation.gate import using_policy

    with using_policy(draft, DRAFT_POLICY_VERSION):
        return _screen_lines(stdin, stdout, stderr, deep)


def _deepen(decision: Any, content: str, account_created_at: Any, stage2: Any) -> Any:
    """Stage 2 on a stage-1 decision, as ``actions.deep_screen`` does: only for score decisions with borderline categories."""
    from rostra.moderation import gate

    if not decision.borderline or decision.rule in ("spam_wave", "account_hold") or decision.rule.startswith("rule:"):
        return decision
    version, policy = gate.active_policy()
    screener = gate.get_screener()
    [result] = screener.deepen([screener.screen(content, remember=False)], stage2)
    verdict = policy.decide(
        result.scores, matched_rules=result.matched_rules, new_account=gate.is_new_account(account_created_at, policy)
    )
    return gate.decision_from(result, verdict, version)


def _screen_lines(stdin: TextIO, stdout: TextIO, stderr: TextIO, stage2: Any = None) -> int:
    from django.db import DatabaseError

    from rostra.core.clock import now
    from rostra.moderation.gate import screen_post
    from rostra.moderation.policy import PolicyError
    from rostra.moderation.screener import CATEGORIES

    author_ids: dict[str, int] = {}
    next_id = 0
    bad = 0
    for n, line, why in _input_lines(stdin):
        if line is not None and not line.strip():
            continue  # blank lines are not records
        fields, why = _parse(line) if line is not None else (None, why)
        if fields is None:
            bad += 1
            _write(stdout, {"line": n, "error": f"line {n}: {why}"})
            continue
        next_id += 1
        author = fields["author"]
        author_id = next_id if author is None else author_ids.setdefault(author, next_id)
        created_at = now() if fields["new_account"] else None
        try:
            decision = screen_post(
                author_id=author_id,
                text=fields["text"],
                spoiler_text=fields["spoiler_text"],
                account_created_at=created_at,
                account_held=False,
                remember=author is not None,
            )
            first = decision
            if stage2 is not None:
                content = f"{fields['spoiler_text']}\n{fields['text']}" if fields["spoiler_text"] else fields["text"]
                decision = _deepen(decision, content, created_at, stage2)
        except (DatabaseError, PolicyError) as exc:
            _err(stderr, f"line {n}: cannot read the policy in force: {exc}")
            return EXIT_CANNOT_RUN
        out: dict[str, Any] = {
            "line": n,
            "decision": decision.action,
            "category": decision.category,
            "rule": decision.rule,
            "reason": decision.reason,
            "label": decision.label,
            "state": decision.state,
            "scores": {c: decision.scores.get(c, 0.0) for c in CATEGORIES},
            "model_version": decision.model_version,
            "policy_version": decision.policy_version,
            "stage": decision.stage,
            "borderline": list(decision.borderline),
            "matched_rules": list(decision.matched_rules),
        }
        if stage2 is not None:
            out["stage1"] = {"decision": first.action, "category": first.category, "rule": first.rule, "scores": first.scores}
        _write(stdout, out)
    if bad:
        _err(stderr, f"{bad} input line(s) could not be screened (see the \"error\" lines)")
        return EXIT_BAD_LINES
    return EXIT_OK


# --- eval -------------------------------------------------------------------------------------------


def _finite(value: float) -> float | None:
    return round(value, 6) if math.isfinite(value) else None


def _bad_json_line(file: Path) -> int:
    """The number of the first line of a JSONL file that does not parse (0 if none does not)."""
    with file.open(encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    json.loads(line)
                except json.JSONDecodeError:
                    return n
    return 0


def evaluate_file(path: str, *, models_dir: str | None, as_json: bool, stdout: TextIO, stderr: TextIO) -> int:
    """Per-category ROC AUC, average precision and precision at 80 %/90 % recall of a labelled file."""
    import csv

    from rostra.moderation.screener import Screener, evaluate
    from rostra.moderation.screener.evaluate import format_metrics, load_labelled

    file = Path(path)
    if not file.is_file():
        _err(stderr, f"{path}: no such file" if not file.exists() else f"{path}: not a file")
        return EXIT_CANNOT_RUN
    if file.suffix.lower() not in EVAL_SUFFIXES:
        _err(stderr, f"{path}: unknown format {file.suffix or '(no extension)'!r}; use a .csv or a .jsonl file")
        return EXIT_CANNOT_RUN
    try:
        rows = load_labelled(file)
    except json.JSONDecodeError as exc:
        _err(stderr, f"{path}: line {_bad_json_line(file)}: invalid JSON ({exc.msg})")
        return EXIT_CANNOT_RUN
    except AttributeError:  # a JSONL line that is not an object
        _err(stderr, f'{path}: every line must be a JSON object such as {{"text": "...", "violence": 1}}')
        return EXIT_CANNOT_RUN
    except (ValueError, csv.Error) as exc:  # UnicodeDecodeError is a ValueError
        _err(stderr, f"{path}: cannot read labelled rows: {exc}")
        return EXIT_CANNOT_RUN
    labelled = [r for r in rows if r.labels]
    if not labelled:
        _err(
            stderr,
            f"{path}: no labelled rows (give a text column plus one 0/1 column per category, "
            "or text, category and label columns)",
        )
        return EXIT_CANNOT_RUN
    try:
        screener = Screener.load(models_dir) if models_dir else Screener.load()
    except (OSError, ValueError, KeyError) as exc:
        _err(stderr, f"cannot load the model from {models_dir or 'the committed models'}: {exc}")
        return EXIT_CANNOT_RUN
    table = evaluate(screener, labelled)
    if not table:
        _err(stderr, f"{path}: no category has both positive and negative labels, so nothing can be measured")
        return EXIT_CANNOT_RUN
    skipped = sorted({c for r in labelled for c in r.labels} - set(table))
    if as_json:
        doc = {
            "file": str(file),
            "rows": len(labelled),
            "model_version": screener.model_version,
            "categories": {c: {k: _finite(v) if isinstance(v, float) else v for k, v in m.as_dict().items()} for c, m in table.items()},
            "skipped": skipped,
        }
        stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        stdout.write(f"{file}: {len(labelled)} labelled rows, model {screener.model_version}\n")
        stdout.write(format_metrics(table) + "\n")
        if skipped:
            stdout.write(f"left out (labels of one class only): {', '.join(skipped)}\n")
    stdout.flush()
    return EXIT_OK


# --- train ------------------------------------------------------------------------------------------


def default_shared_dir() -> Path:
    configured = os.environ.get("ROSTRA_MODERATION_DATA")
    if configured:
        return Path(configured).expanduser()
    return REPO_ROOT.parent / "shared" / "data" / "moderation"


def _moderator_decisions(setup: Callable[[], None], stderr: TextIO) -> list[tuple[str, str, int]]:
    """``queries.training_decisions()`` when this version has it and the database answers, else none."""
    import importlib

    setup()
    try:
        queries = importlib.import_module("rostra.moderation.queries")
    except ModuleNotFoundError as exc:
        if exc.name != "rostra.moderation.queries":
            raise
        return []
    fetch: Callable[[], Iterable[tuple[str, str, int]]] | None = getattr(queries, "training_decisions", None)
    if not callable(fetch):
        return []
    problem = database_problem()
    if problem:
        _err(stderr, f"moderator decisions left out: {problem}")
        return []
    from django.db import DatabaseError

    try:
        return [(str(t), str(c), int(y)) for t, c, y in fetch()]
    except DatabaseError as exc:
        _err(stderr, f"moderator decisions left out: cannot read them ({exc})")
        return []


def train_model(
    *,
    shared: str | None,
    out: str | None,
    seed: int,
    use_decisions: bool,
    setup: Callable[[], None],
    stdout: TextIO,
    stderr: TextIO,
) -> int:
    """Check the arguments, gather the decisions, then run the trainer with its progress bars."""
    from rostra.moderation.screener import DEFAULT_MODELS_DIR

    shared_dir = Path(shared).expanduser() if shared else default_shared_dir()
    out_dir = Path(out).expanduser() if out else DEFAULT_MODELS_DIR
    if not shared_dir.is_dir():
        where = "--shared" if shared else ("ROSTRA_MODERATION_DATA" if os.environ.get("ROSTRA_MODERATION_DATA") else "the default")
        _err(
            stderr,
            f"the shared training data directory {shared_dir} ({where}) does not exist; "
            "pass --shared DIR or set ROSTRA_MODERATION_DATA (it holds davidson/, ethos/, youtube_spam/)",
        )
        return EXIT_CANNOT_RUN
    if not any((shared_dir / part).exists() for part in SHARED_SOURCES):
        _err(stderr, f"no shared training data under {shared_dir}: expected {', '.join(SHARED_SOURCES)}")
        return EXIT_CANNOT_RUN
    if out_dir.exists() and not out_dir.is_dir():
        _err(stderr, f"--out {out_dir} exists and is not a directory")
        return EXIT_CANNOT_RUN
    if seed < 0:
        _err(stderr, "--seed must be a whole number of at least 0")
        return EXIT_CANNOT_RUN
    decisions = _moderator_decisions(setup, stderr) if use_decisions else []
    from rostra.moderation.screener.categories import CATEGORIES

    unknown = sorted({c for _, c, _ in decisions} - set(CATEGORIES))
    if unknown:
        decisions = [d for d in decisions if d[1] in CATEGORIES]
        _err(stderr, f"moderator decisions in categories the screener does not have were left out: {', '.join(unknown)}")
    print(
        f"rostra: training from {shared_dir} with {len(decisions)} moderator decision(s) into {out_dir} (seed {seed})",
        file=stdout,
        flush=True,
    )
    from rostra.moderation.screener.train import train

    command = f"rostra moderation train --shared {shared_dir} --out {out_dir} --seed {seed}" + ("" if use_decisions else " --no-decisions")
    try:
        report = train(shared_dir, out_dir, seed, decisions=decisions, progress=True, command=command)
    except FileNotFoundError as exc:
        _err(stderr, str(exc))
        return EXIT_CANNOT_RUN
    except (ValueError, OSError) as exc:
        _err(stderr, f"training failed: {exc}")
        return EXIT_CANNOT_RUN
    print(report.summary(), file=stdout)
    print(f"rostra: saved {report.model_version} to {out_dir}; now stage 2 (it is fitted on this stage-1 model)", file=stdout, flush=True)
    from rostra.moderation.screener.train_stage2 import train_stage2

    try:
        stage2 = train_stage2(shared_dir, out_dir, seed, decisions=decisions, command=command)
    except Exception as exc:  # noqa: BLE001 - the encoder may be missing; stage 1 is saved either way
        _err(stderr, f"stage 2 was not trained ({exc}); stage 1 is saved, and stage 2 stays off until it is retrained")
        return EXIT_CANNOT_RUN
    print(stage2.summary(), file=stdout)
    print(f"rostra: saved both stages and MODEL_CARD.md to {out_dir}", file=stdout, flush=True)
    return EXIT_OK
