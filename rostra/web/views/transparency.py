"""The public face of the policy (the community guidelines, the transparency report) and the
admins' tools: the policy editor, its versions, and who is staff.

Public pages need no login. The admin pages answer 404 to everyone but admins, so they do not
even reveal that they exist.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse, QueryDict
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from rostra.accounts.models import Role
from rostra.core.errors import Conflict, ValidationError
from rostra.moderation import actions, policies, roles, transparency
from rostra.moderation.models import ModAction
from rostra.moderation.policy import ACTIONS, CategoryPolicy, Policy, Threshold
from rostra.moderation.screener import CATEGORIES
from rostra.moderation.screener.rules import RULE_KINDS
from rostra.web.http import apply_errors, domain_errors, not_found

SANCTIONS = ACTIONS[1:]  # every action but "publish", mildest first
MIN_THRESHOLD_ROWS = 4
BLANK_RULE_ROWS = 3

# ---- the community guidelines -----------------------------------------------------------------

ACTION_WORDS = {
    "label": "published behind a content warning",
    "limit": "kept off public timelines, hashtags, search and other servers (people who follow the author still see them)",
    "hold": "held for a moderator's review before anyone else sees them",
    "refuse": "refused, so they are never published and the author is told which rule",
}
ACTION_SHORT = {"label": "content warning", "limit": "limited reach", "hold": "held for review", "refuse": "refused"}


def _outcome(action: str, label: str) -> str:
    words = ACTION_WORDS.get(action, action)
    return f"{words} (“{label}”)" if action == "label" and label else words


def what_happens(thresholds: tuple[Threshold, ...], label: str, subject: str = "Posts") -> str:
    """The thresholds in words, strictest first: "Posts that may break this rule are held …; milder cases are …"."""
    steps: list[str] = []
    for t in thresholds:  # strictest first; one phrase per distinct action
        if not steps or steps[-1] != t.action:
            steps.append(t.action)
    if not steps:
        return f"{subject} are not acted on automatically under this rule; moderators act on reports."
    words = [_outcome(a, label) for a in steps]
    if len(words) == 1:
        return f"{subject} that may break this rule are {words[0]}."
    if len(words) == 2:
        return f"{subject} that may break this rule are {words[0]}; milder cases are {words[1]}."
    middle = "".join(f"; less clear cases are {w}" for w in words[1:-1])
    return f"{subject} that clearly break this rule are {words[0]}{middle}; milder cases are {words[-1]}."


@dataclass(frozen=True)
class Guideline:
    category: CategoryPolicy
    what: str
    new_account_what: str  # "" when new accounts meet the same thresholds
    thresholds: list[tuple[float, str]]
    new_account_thresholds: list[tuple[float, str]]


def _new_account_words(cp: CategoryPolicy, days: int) -> str:
    """"" when new accounts meet the same thresholds; a short sentence when only the scores are lower."""
    everyone, newer = cp.thresholds, cp.new_account_thresholds
    if newer == everyone:
        return ""
    same_steps = [t.action for t in newer] == [t.action for t in everyone]
    if same_steps and all(n.score <= e.score for n, e in zip(newer, everyone, strict=True)):
        return f"The same steps apply to posts from accounts younger than {days} days at lower scores, so less clear cases are caught too."
    return what_happens(newer, cp.label, f"Posts from accounts younger than {days} days")


def _guideline(cp: CategoryPolicy, days: int) -> Guideline:
    stricter = cp.new_account_thresholds != cp.thresholds
    return Guideline(
        category=cp,
        what=what_happens(cp.thresholds, cp.label),
        new_account_what=_new_account_words(cp, days),
        thresholds=[(t.score, ACTION_SHORT[t.action]) for t in cp.thresholds],
        new_account_thresholds=[(t.score, ACTION_SHORT[t.action]) for t in cp.new_account_thresholds] if stricter else [],
    )


@require_GET
def rules(request: HttpRequest) -> HttpResponse:
    current = transparency.policy_in_force()
    policy = current.policy
    return render(request, "rostra/moderation/public_rules.html", {
        "nav": "about",
        "policy": policy,
        "version": current.version,
        "saved_at": current.saved_at,
        "guidelines": [_guideline(cp, policy.new_account_days) for cp in policy.guidelines()],
        "spam_wave_what": _outcome(policy.spam_wave_action, policy.categories["spam"].label) if policy.spam_wave_action != "publish" else "",
        "instance_rules": len(policy.rules),
        "appeal_days": actions.APPEAL_WINDOW_DAYS,
        "jury_size": actions.JURY_SIZE,
    })


# ---- the transparency report ------------------------------------------------------------------


def _months(request: HttpRequest) -> int:
    raw = request.GET.get("months", "")
    return int(raw) if raw.isdigit() and 1 <= int(raw) <= transparency.MAX_MONTHS else 12


def _month_label(key: str) -> str:
    return datetime(int(key[:4]), int(key[5:]), 1, tzinfo=UTC).strftime("%B %Y")


def _tables(data: dict[str, Any]) -> dict[str, Any]:
    """The report as rows for the HTML tables: month by month, then the period's totals by rule."""
    cats: dict[str, str] = data["categories"]
    totals = data["totals"]
    months = [{**m, "label": _month_label(m["month"])} for m in reversed(data["months"])]
    decisions = [
        {"title": title, "counts": [totals["decisions"].get(cat, {}).get(a, 0) for a in SANCTIONS],
         "total": sum(totals["decisions"].get(cat, {}).values())}
        for cat, title in cats.items()
    ]
    action_rows = []
    for kind in ModAction.Kind:
        for cat, title in cats.items():
            auto = totals["actions"]["automated"].get(kind.value, {}).get(cat, 0)
            human = totals["actions"]["human"].get(kind.value, {}).get(cat, 0)
            if auto or human:
                action_rows.append({"kind": kind.label, "title": title, "automated": auto, "human": human, "total": auto + human})
    report_rows = [{"title": title, "count": totals["reports"].get(cat, 0)} for cat, title in cats.items()]
    return {
        "months": months, "decisions": decisions, "decision_actions": [ACTION_SHORT[a] for a in SANCTIONS],
        "action_rows": action_rows, "report_rows": report_rows,
    }


@require_GET
def transparency_page(request: HttpRequest) -> HttpResponse:
    data = transparency.report(_months(request))
    return render(request, "rostra/moderation/public_transparency.html", {"nav": "about", "report": data, **_tables(data)})


@require_GET
def transparency_json(request: HttpRequest) -> HttpResponse:
    response = JsonResponse(transparency.report(_months(request)))
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"  # public numbers, no cookies: anyone may chart them
    return response


# ---- the policy editor (admins) ---------------------------------------------------------------


@dataclass
class Field:
    name: str
    value: Any = ""
    errors: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return "p-" + re.sub(r"[^A-Za-z0-9]+", "-", self.name)


@dataclass
class Row:
    score: Field
    action: Field
    errors: list[str] = field(default_factory=list)


@dataclass
class CategoryForm:
    name: str
    title: Field
    guideline: Field
    severity: Field
    label: Field
    thresholds: list[Row]
    same_for_new: Field
    new_account_thresholds: list[Row]
    errors: list[str]
    threshold_errors: list[str]
    new_account_errors: list[str]


@dataclass
class RuleForm:
    id: Field
    kind: Field
    pattern: Field
    category: Field
    action: Field
    remove: Field
    errors: list[str]


def _text(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _number(raw: str, kind: type[int] | type[float]) -> Any:
    """A number if it parses; otherwise the text as typed, so validation names the field."""
    raw = raw.strip()
    try:
        return kind(raw)
    except ValueError:
        return raw


def _indexes(post: QueryDict, prefix: str) -> list[int]:
    pattern = re.compile(re.escape(prefix) + r"\.(\d{1,3})\.")
    return sorted({int(m.group(1)) for key in post for m in [pattern.match(key)] if m})


def _threshold_rows(post: QueryDict, prefix: str) -> list[dict[str, Any]]:
    rows = []
    for i in _indexes(post, prefix):
        score, action = post.get(f"{prefix}.{i}.score", "").strip(), post.get(f"{prefix}.{i}.action", "").strip()
        if score or action:  # a blank row is no threshold
            rows.append({"score": _number(score, float) if score else None, "action": action})
    return rows


def document_from_form(post: QueryDict, base: dict[str, Any]) -> dict[str, Any]:
    """The edited policy document: the current one with the form's fields laid over it, so keys the
    form does not show survive. Values that do not parse stay as typed, for validation to name."""
    doc = copy.deepcopy(base)
    doc["name"] = post.get("name", "").strip()
    doc["summary"] = post.get("summary", "").replace("\r\n", "\n").strip()
    doc["new_account_days"] = _number(post.get("new_account_days", ""), int)
    doc["spam_wave"] = {
        "posts": _number(post.get("spam_wave.posts", ""), int),
        "authors": _number(post.get("spam_wave.authors", ""), int),
        "action": post.get("spam_wave.action", "").strip(),
    }
    categories = doc["categories"] = dict(doc.get("categories") or {})
    for cat in CATEGORIES:
        p = f"categories.{cat}"
        entry = dict(categories.get(cat) or {})
        entry["title"] = post.get(f"{p}.title", "").strip()
        entry["guideline"] = post.get(f"{p}.guideline", "").replace("\r\n", "\n").strip()
        entry["severity"] = _number(post.get(f"{p}.severity", ""), int)
        entry["label"] = post.get(f"{p}.label", "").strip()
        entry["thresholds"] = _threshold_rows(post, f"{p}.thresholds")
        if post.get(f"{p}.same_for_new"):
            entry.pop("new_account_thresholds", None)
        else:
            entry["new_account_thresholds"] = _threshold_rows(post, f"{p}.new_account_thresholds")
        categories[cat] = entry
    rules: list[dict[str, Any]] = []
    for i in _indexes(post, "rules"):
        if post.get(f"rules.{i}.remove"):
            continue
        rule = {k: post.get(f"rules.{i}.{k}", "").strip() for k in ("id", "kind", "category", "action")}
        rule["pattern"] = post.get(f"rules.{i}.pattern", "")
        if rule["id"] or rule["pattern"].strip():  # a row with neither is a blank row
            rules.append(rule)
    taken = {r["id"] for r in rules if r["id"]}
    for rule in (r for r in rules if not r["id"]):
        rule["id"] = next(f"r{k}" for k in itertools.count(1) if f"r{k}" not in taken)
        taken.add(rule["id"])
    doc["rules"] = rules
    return doc


def _rows(raw: Any, path: str, errors: dict[str, list[str]]) -> list[Row]:
    items = raw if isinstance(raw, list) else []
    rows = []
    for i, t in enumerate(items):
        t = t if isinstance(t, dict) else {}
        rows.append(Row(
            Field(f"{path}.{i}.score", _text(t.get("score")), errors.pop(f"{path}[{i}].score", [])),
            Field(f"{path}.{i}.action", _text(t.get("action")), errors.pop(f"{path}[{i}].action", [])),
            errors.pop(f"{path}[{i}]", []),
        ))
    for i in range(len(rows), max(MIN_THRESHOLD_ROWS, len(rows) + 1)):
        rows.append(Row(Field(f"{path}.{i}.score"), Field(f"{path}.{i}.action")))
    return rows


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def policy_form(doc: dict[str, Any], errors: dict[str, list[str]]) -> dict[str, Any]:
    """The editor's fields from a document (the policy in force, or the one just submitted), with
    each validation error next to its field; errors no field claims are returned as ``general``."""
    errors = {k: list(v) for k, v in errors.items()}

    def f(name: str, value: Any) -> Field:
        return Field(name, _text(value), errors.pop(name, []))

    wave = _mapping(doc.get("spam_wave"))
    cats_raw = _mapping(doc.get("categories"))
    categories = []
    for cat in CATEGORIES:
        p = f"categories.{cat}"
        raw = _mapping(cats_raw.get(cat))
        same = "new_account_thresholds" not in raw
        categories.append(CategoryForm(
            name=cat,
            title=f(f"{p}.title", raw.get("title", "")),
            guideline=f(f"{p}.guideline", raw.get("guideline", "")),
            severity=f(f"{p}.severity", raw.get("severity", "")),
            label=f(f"{p}.label", raw.get("label", "")),
            thresholds=_rows(raw.get("thresholds"), f"{p}.thresholds", errors),
            same_for_new=Field(f"{p}.same_for_new", same),
            new_account_thresholds=_rows([] if same else raw.get("new_account_thresholds"), f"{p}.new_account_thresholds", errors),
            errors=errors.pop(p, []),
            threshold_errors=errors.pop(f"{p}.thresholds", []),
            new_account_errors=errors.pop(f"{p}.new_account_thresholds", []),
        ))
    rules = []
    raw_rules = [r for r in doc.get("rules") or [] if isinstance(r, dict)] if isinstance(doc.get("rules"), list) else []
    for i, r in enumerate([*raw_rules, *({} for _ in range(BLANK_RULE_ROWS))]):
        rules.append(RuleForm(
            id=Field(f"rules.{i}.id", _text(r.get("id", ""))),
            kind=Field(f"rules.{i}.kind", _text(r.get("kind", "keyword"))),
            pattern=Field(f"rules.{i}.pattern", _text(r.get("pattern", ""))),
            category=Field(f"rules.{i}.category", _text(r.get("category", "spam"))),
            action=Field(f"rules.{i}.action", _text(r.get("action", "hold"))),
            remove=Field(f"rules.{i}.remove", False),
            errors=errors.pop(f"rules.{r.get('id')}", []) if r else [],
        ))
    form = {
        "name": f("name", doc.get("name", "")),
        "summary": f("summary", doc.get("summary", "")),
        "new_account_days": f("new_account_days", doc.get("new_account_days", "")),
        "spam_wave_posts": f("spam_wave.posts", wave.get("posts", "")),
        "spam_wave_authors": f("spam_wave.authors", wave.get("authors", "")),
        "spam_wave_action": f("spam_wave.action", wave.get("action", "")),
        "spam_wave_errors": errors.pop("spam_wave", []),
        "categories": categories,
        "rules": rules,
        "rules_errors": errors.pop("rules", []),
    }
    form["general"] = [f"{path}: {text}" if path != "__all__" else text for path, texts in errors.items() for text in texts]
    return form


def _is_admin(request: HttpRequest) -> bool:
    return policies.is_admin(request.user)


@require_http_methods(["GET", "POST"])
@domain_errors
def policy_editor(request: HttpRequest) -> HttpResponse:
    if not _is_admin(request):
        return not_found(request)
    current = transparency.policy_in_force()
    document: Any = copy.deepcopy(current.policy.document)
    json_text = json.dumps(document, indent=2, ensure_ascii=False)
    mode, note, status = "form", "", 200
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        mode = "json" if request.POST.get("mode") == "json" else "form"
        note = request.POST.get("note", "").strip()
        submitted: Any = None
        if mode == "json":
            json_text = request.POST.get("document_json", "")
            try:
                submitted = json.loads(json_text)
            except json.JSONDecodeError as exc:
                errors["document_json"] = [f"This is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."]
        else:
            submitted = document = document_from_form(request.POST, document)
        if not note:
            errors["note"] = ["Say what changed and why; it is kept with the version for everyone who comes later."]
        if not errors:
            try:
                row = actions.save_policy(request.user, submitted, note)  # type: ignore[arg-type]
            except ValidationError as exc:
                errors = dict(exc.errors)
            else:
                messages.success(request, f"Saved: version {row.version} of the policy is now in force.")
                return HttpResponseRedirect("/admin/policy")
        status = 400
    note_errors = errors.pop("note", [])
    json_errors = errors.pop("document_json", [])
    if mode == "json":
        # The JSON may be any shape: its problems are listed with their paths; the form shows the policy in force.
        json_errors += [f"{path}: {text}" for path, texts in errors.items() for text in texts]
        errors = {}
    form = policy_form(document if isinstance(document, dict) else current.policy.document, errors)
    return render(request, "rostra/moderation/policy_editor.html", {
        "nav": "policy", "section": "editor", "current": current, "form": form, "mode": mode, "note": note, "note_errors": note_errors,
        "json_text": json_text, "json_errors": json_errors, "actions": SANCTIONS, "all_actions": ACTIONS,
        "rule_kinds": RULE_KINDS, "categories": CATEGORIES, "failed": status == 400,
    }, status=status)


@require_GET
def policy_versions(request: HttpRequest) -> HttpResponse:
    if not _is_admin(request):
        return not_found(request)
    current = transparency.policy_in_force()
    return render(request, "rostra/moderation/policy_versions.html", {
        "nav": "policy", "section": "versions", "versions": list(transparency.policy_versions()), "current": current,
    })


@require_GET
def policy_version(request: HttpRequest, version: int) -> HttpResponse:
    if not _is_admin(request):
        return not_found(request)
    found = transparency.policy_version(version)
    if found is None:
        return not_found(request)
    row, document = found
    before = transparency.previous_document(version)
    return render(request, "rostra/moderation/policy_version.html", {
        "nav": "policy", "section": "versions", "version": version, "row": row, "current": transparency.policy_in_force(),
        "json_text": json.dumps(document, indent=2, ensure_ascii=False),
        "changes": transparency.changes(before, document) if before is not None else None,
        "valid": _valid(document),
    })


def _valid(document: Any) -> bool:
    try:
        Policy.from_document(document)
    except ValueError:
        return False
    return True


# ---- roles (admins) ---------------------------------------------------------------------------


class RoleForm(forms.Form):
    username = forms.CharField(max_length=31, label="Username", help_text="Without the @, or with it.")
    role = forms.ChoiceField(choices=Role.choices, label="Role")


@require_http_methods(["GET", "POST"])
@domain_errors
def roles_page(request: HttpRequest) -> HttpResponse:
    if not _is_admin(request):
        return not_found(request)
    form = RoleForm(initial={"role": Role.MODERATOR})
    status = 200
    if request.method == "POST":
        form = RoleForm(request.POST)
        if form.is_valid():
            try:
                change = roles.change_role(request.user, form.cleaned_data["username"], form.cleaned_data["role"])  # type: ignore[arg-type]
            except ValidationError as exc:
                apply_errors(form, exc)
            except Conflict as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"@{change.username} is now a {Role(change.after).label.lower()} (was {Role(change.before).label.lower()}).")
                return HttpResponseRedirect("/admin/roles")
        status = 400
    return render(request, "rostra/moderation/policy_roles.html", {
        "nav": "roles", "section": "roles", "form": form, "staff": roles.staff(), "role_choices": Role.choices,
    }, status=status)
