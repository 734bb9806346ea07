"""The public face of trust and safety: the monthly transparency report, and the policy's history.

``report(months)`` is served as-is at ``/about/transparency.json`` and drawn as tables at
``/about/transparency``. It holds counts and durations only: no usernames, no account or post
ids, no text. Months are UTC calendar months, oldest first, the current (partial) month last.

The schema (``SCHEMA``) is stable: fields may be added, never renamed or removed; a change that
breaks a reader gets a new schema name. Inner objects are sparse: a category, action or kind with
nothing to count is left out, so a missing key means zero::

    {
      "schema": "rostra.transparency/1",
      "generated_at": "2025-06-14T09:30:00+00:00",
      "period": {"start": "2024-07-01", "end": "2025-06-30", "months": 12},
      "policy": {"version": 3, "name": "...", "in_force_since": "2025-05-02T10:00:00+00:00"},
      "categories": {"violence": "Violence and incitement", ...},   # every category key used below, gravest first
      "months": [MONTH, ...],
      "totals": MONTH without "month"; its medians are over the whole period
    }

    MONTH = {
      "month": "2025-06",
      "posts_screened": 812,       # posts screened on posting or on arrival from another server
      "decisions": {"violence": {"hold": 2, "limit": 5}},   # each post's final screening decision
      "decisions_total": 7,        #   other than "publish", counted in the month it was made
      "actions": {"automated": {"label": {"sexual": 4}}, "human": {"remove": {"violence": 1}}},  # kind -> category -> n
      "actions_total": {"automated": 4, "human": 1},
      "reports": {"spam": 3},      # reports received, by the rule they name
      "reports_total": 3,
      "appeals": {
        "received": 2, "pending": 1,          # received this month; pending = not decided yet (today)
        "reversed": 1, "upheld": 0,           # decided this month
        "by_moderator": {"reversed": 1, "upheld": 0}, "by_jury": {"reversed": 0, "upheld": 0}
      },
      "juries": {"convened": 0, "decided": 0, "lapsed": 0},
      "median_hours_to_action": 3.5,          # a moderator's action on a case, from when the case opened; null if none
      "median_hours_to_decide_appeal": 20.0   # from the appeal to its decision; null if none
    }

Every count is one aggregate query over the period, grouped by month in the database; only the
durations behind the two medians are read row by row, and only for the period.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import TruncMonth

from rostra.core.clock import now
from rostra.moderation import gate
from rostra.moderation.models import CATEGORY_CHOICES, Appeal, Decision, Jury, ModAction, PolicyVersion, Report
from rostra.moderation.policy import Policy, default_document

SCHEMA = "rostra.transparency/1"
MAX_MONTHS = 36
SCREENED_SOURCES = (Decision.Source.CREATE, Decision.Source.REMOTE)
DECIDED = (Appeal.Status.REVERSED, Appeal.Status.UPHELD)
UNDECIDED = (Appeal.Status.OPEN, Appeal.Status.JURY)
OTHER = "other"  # where a row without a category is counted


# ---- the report -------------------------------------------------------------------------------


def report(months: int = 12) -> dict[str, Any]:
    """The last ``months`` calendar months (UTC), the current one included. JSON-ready."""
    if not 1 <= months <= MAX_MONTHS:
        raise ValueError(f"months is from 1 to {MAX_MONTHS}")
    generated = now()
    keys = _month_keys(generated, months)
    start = datetime(int(keys[0][:4]), int(keys[0][5:]), 1, tzinfo=UTC)
    version, policy = gate.active_policy()
    table: dict[str, dict[str, Any]] = {k: _empty_month() for k in keys}

    def bucket(when: datetime | None) -> dict[str, Any] | None:
        return table.get(_key(when)) if when is not None else None

    # Posts screened: the first screen of each post (on posting, or on arrival from elsewhere).
    for row in _by_month(Decision.objects.filter(created_at__gte=start, source__in=SCREENED_SOURCES), "created_at"):
        if (m := bucket(row["month"])) is not None:
            m["posts_screened"] += row["n"]
    # Screening decisions: each post's latest decision only (stage 2's, or an edit's, replaces the first).
    later = Decision.objects.filter(post_id=OuterRef("post_id")).filter(
        Q(created_at__gt=OuterRef("created_at")) | Q(created_at=OuterRef("created_at"), pk__gt=OuterRef("pk"))
    )
    final = Decision.objects.filter(created_at__gte=start).exclude(action="publish").filter(Q(post__isnull=True) | ~Exists(later))
    for row in _by_month(final, "created_at", "category", "action"):
        if (m := bucket(row["month"])) is not None:
            _add(m["decisions"], row["n"], row["category"] or OTHER, row["action"])
            m["decisions_total"] += row["n"]
    # Actions, automated (the policy) and human (moderators).
    for row in _by_month(ModAction.objects.filter(created_at__gte=start), "created_at", "automated", "kind", "category"):
        if (m := bucket(row["month"])) is not None:
            who = "automated" if row["automated"] else "human"
            _add(m["actions"][who], row["n"], row["kind"], row["category"] or OTHER)
            m["actions_total"][who] += row["n"]
    # Reports received.
    for row in _by_month(Report.objects.filter(created_at__gte=start), "created_at", "category"):
        if (m := bucket(row["month"])) is not None:
            _add(m["reports"], row["n"], row["category"] or OTHER)
            m["reports_total"] += row["n"]
    # Appeals: received (and, of those, still pending) by the month they arrived; outcomes by the month decided.
    for row in _by_month(Appeal.objects.filter(created_at__gte=start), "created_at", "status"):
        if (m := bucket(row["month"])) is not None:
            m["appeals"]["received"] += row["n"]
            if row["status"] in UNDECIDED:
                m["appeals"]["pending"] += row["n"]
    decided = Appeal.objects.filter(decided_at__gte=start, status__in=DECIDED)
    for row in _by_month(decided, "decided_at", "status", "decided_by_jury"):
        if (m := bucket(row["month"])) is not None:
            m["appeals"][row["status"]] += row["n"]
            m["appeals"]["by_jury" if row["decided_by_jury"] else "by_moderator"][row["status"]] += row["n"]
    # Juries: convened by the month drawn; decided or lapsed by the month they finished.
    for row in _by_month(Jury.objects.filter(created_at__gte=start), "created_at"):
        if (m := bucket(row["month"])) is not None:
            m["juries"]["convened"] += row["n"]
    finished = Jury.objects.filter(decided_at__gte=start, status__in=(Jury.Status.DECIDED, Jury.Status.LAPSED))
    for row in _by_month(finished, "decided_at", "status"):
        if (m := bucket(row["month"])) is not None:
            m["juries"][row["status"]] += row["n"]
    # Medians: the only row-by-row reads, durations only.
    to_action = (
        ModAction.objects.filter(created_at__gte=start, automated=False, case__isnull=False)
        .values_list("created_at", "case__created_at")
    )
    to_decide = decided.values_list("decided_at", "created_at")
    action_hours = _hours_by_month(to_action)
    appeal_hours = _hours_by_month(to_decide)
    for key, m in table.items():
        m["median_hours_to_action"] = _median(action_hours.get(key, []))
        m["median_hours_to_decide_appeal"] = _median(appeal_hours.get(key, []))

    months_out = [{"month": k, **table[k]} for k in keys]
    totals = _sum_months(table.values())
    totals["median_hours_to_action"] = _median([h for hs in action_hours.values() for h in hs])
    totals["median_hours_to_decide_appeal"] = _median([h for hs in appeal_hours.values() for h in hs])
    end_year, end_month = int(keys[-1][:4]), int(keys[-1][5:])
    return {
        "schema": SCHEMA,
        "generated_at": generated.isoformat(),
        "period": {"start": start.date().isoformat(), "end": _last_day(end_year, end_month).isoformat(), "months": months},
        "policy": _policy_summary(version, policy),
        "categories": category_titles(policy),
        "months": months_out,
        "totals": totals,
    }


def _empty_month() -> dict[str, Any]:
    return {
        "posts_screened": 0,
        "decisions": {},
        "decisions_total": 0,
        "actions": {"automated": {}, "human": {}},
        "actions_total": {"automated": 0, "human": 0},
        "reports": {},
        "reports_total": 0,
        "appeals": {
            "received": 0, "pending": 0, "reversed": 0, "upheld": 0,
            "by_moderator": {"reversed": 0, "upheld": 0}, "by_jury": {"reversed": 0, "upheld": 0},
        },
        "juries": {"convened": 0, "decided": 0, "lapsed": 0},
        "median_hours_to_action": None,
        "median_hours_to_decide_appeal": None,
    }


def _by_month(qs: QuerySet[Any], field: str, *group: str) -> Iterable[dict[str, Any]]:
    """One aggregate query: rows of {"month", *group, "n"}."""
    return qs.order_by().annotate(month=TruncMonth(field, tzinfo=UTC)).values("month", *group).annotate(n=Count("pk"))


def _add(into: dict[str, Any], n: int, *path: str) -> None:
    for key in path[:-1]:
        into = into.setdefault(key, {})
    into[path[-1]] = into.get(path[-1], 0) + n


def _merge(into: dict[str, Any], other: Mapping[str, Any]) -> None:
    for key, value in other.items():
        if isinstance(value, Mapping):
            _merge(into.setdefault(key, {}), value)
        elif isinstance(value, int):
            into[key] = into.get(key, 0) + value


def _sum_months(months: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    total = _empty_month()
    for m in months:
        _merge(total, {k: v for k, v in m.items() if not k.startswith("median_")})
    return total


def _hours_by_month(pairs: Iterable[tuple[datetime | None, datetime | None]]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = defaultdict(list)
    for end, begin in pairs:
        if end is not None and begin is not None:
            out[_key(end)].append(max(0.0, (end - begin).total_seconds() / 3600))
    return out


def _median(hours: list[float]) -> float | None:
    return round(statistics.median(hours), 2) if hours else None


def _key(when: datetime | date) -> str:
    if isinstance(when, datetime):
        when = when.astimezone(UTC) if when.tzinfo else when
    return f"{when.year:04d}-{when.month:02d}"


def _month_keys(at: datetime, months: int) -> list[str]:
    at = at.astimezone(UTC)
    index = at.year * 12 + at.month - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - months + 1, index + 1)]


def _last_day(year: int, month: int) -> date:
    following = date(year + month // 12, month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


def category_titles(policy: Policy) -> dict[str, str]:
    """Every category key the report can use, gravest first, with the policy's titles."""
    titles = {c.name: c.title for c in policy.guidelines()}
    for key, label in CATEGORY_CHOICES:
        titles.setdefault(key, label)
    return titles


def _policy_summary(version: int, policy: Policy) -> dict[str, Any]:
    saved = PolicyVersion.objects.filter(pk=version).values_list("created_at", flat=True).first() if version else None
    return {"version": version, "name": policy.name, "in_force_since": saved.isoformat() if saved else None}


# ---- the policy in force and its history -------------------------------------------------------


@dataclass(frozen=True)
class PolicyInForce:
    version: int  # 0: the shipped default, never saved
    policy: Policy
    saved_at: datetime | None


def policy_in_force() -> PolicyInForce:
    version, policy = gate.active_policy()
    saved = PolicyVersion.objects.filter(pk=version).values_list("created_at", flat=True).first() if version else None
    return PolicyInForce(version, policy, saved)


def policy_versions() -> QuerySet[PolicyVersion]:
    """Every saved version, newest first (for admins: who saved it, when, and why)."""
    return PolicyVersion.objects.select_related("created_by").order_by("-version")


def policy_version(version: int) -> tuple[PolicyVersion | None, dict[str, Any]] | None:
    """A saved version's row and document; version 0 is the shipped default (no row). None: no such version."""
    if version == 0:
        return None, default_document()
    row = PolicyVersion.objects.select_related("created_by").filter(pk=version).first()
    return (row, row.document) if row is not None else None


def previous_document(version: int) -> dict[str, Any] | None:
    """The document the given version replaced (the shipped default before version 1)."""
    if version <= 0:
        return None
    row = PolicyVersion.objects.filter(version__lt=version).order_by("-version").values_list("document", flat=True).first()
    return row if row is not None else default_document()


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """A short, human summary of what changed between two policy documents."""
    out: list[str] = []
    for key, what in (("name", "The policy's name"), ("summary", "The summary")):
        if before.get(key) != after.get(key):
            out.append(f"{what} changed.")
    if before.get("new_account_days") != after.get("new_account_days"):
        out.append(f"New accounts: {before.get('new_account_days')} → {after.get('new_account_days')} days.")
    if before.get("spam_wave") != after.get("spam_wave"):
        out.append(f"Spam wave: {_wave(before.get('spam_wave'))} → {_wave(after.get('spam_wave'))}.")
    cats_before, cats_after = before.get("categories") or {}, after.get("categories") or {}
    for cat in [*cats_after, *(c for c in cats_before if c not in cats_after)]:
        b, a = cats_before.get(cat) or {}, cats_after.get(cat) or {}
        if b == a:
            continue
        if not b or not a:
            out.append(f"{cat}: {'added' if a else 'removed'}.")
            continue
        for key, what in (("title", "title"), ("guideline", "guideline"), ("label", "content-warning label")):
            if b.get(key) != a.get(key):
                out.append(f"{cat}: the {what} changed.")
        if b.get("severity") != a.get("severity"):
            out.append(f"{cat}: severity {b.get('severity')} → {a.get('severity')}.")
        if b.get("thresholds") != a.get("thresholds"):
            out.append(f"{cat}: thresholds {_table(b.get('thresholds'))} → {_table(a.get('thresholds'))}.")
        if b.get("new_account_thresholds") != a.get("new_account_thresholds"):
            out.append(
                f"{cat}: new-account thresholds {_table(b.get('new_account_thresholds'), same=True)} → "
                f"{_table(a.get('new_account_thresholds'), same=True)}."
            )
    rules_before = {str(r.get("id")): r for r in before.get("rules") or [] if isinstance(r, Mapping)}
    rules_after = {str(r.get("id")): r for r in after.get("rules") or [] if isinstance(r, Mapping)}
    for rid in rules_after.keys() - rules_before.keys():
        out.append(f"Rule {rid} added.")
    for rid in rules_before.keys() - rules_after.keys():
        out.append(f"Rule {rid} removed.")
    for rid in rules_after.keys() & rules_before.keys():
        if rules_after[rid] != rules_before[rid]:
            out.append(f"Rule {rid} changed.")
    other = (set(before) | set(after)) - {"name", "summary", "new_account_days", "spam_wave", "categories", "rules"}
    out.extend(f"{key} changed." for key in sorted(other) if before.get(key) != after.get(key))
    return out


def _table(thresholds: Any, *, same: bool = False) -> str:
    if thresholds is None and same:
        return "(as for everyone)"
    if not isinstance(thresholds, list) or not thresholds:
        return "(none)"
    return ", ".join(f"{t.get('score')}→{t.get('action')}" for t in thresholds if isinstance(t, Mapping))


def _wave(wave: Any) -> str:
    if not isinstance(wave, Mapping):
        return "(default)"
    return f"{wave.get('posts')} posts from {wave.get('authors')} accounts → {wave.get('action')}"
