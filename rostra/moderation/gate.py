"""The trust-and-safety gate on the write path.

``posts.actions.create_post`` and ``edit_post`` call ``screen_post`` inside the request, before
the post is committed or visible to anyone else, then ``record`` inside their transaction. The
screener (stage 0 + 1) scores the text; the policy in force turns the scores into a decision:
publish, label, limit, hold or refuse. ``record`` stores the decision with the policy version,
the scores and the model version; a held post opens a case in the review queue; a label or a
limit is an automated action with a notice the author can appeal.

The door (``posts.queries.visible_posts``) shows held and removed posts to their author only,
fan-out skips them, and stage 2 (``moderation.actions.deep_screen``, first in the pipeline for
``post.created``) re-scores what stage 1 found borderline before anything is fanned out.

This module imports no other app (import-linter): posts call it, it never calls posts.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from rostra.core import metrics
from rostra.core.clock import now
from rostra.core.prepared import Prepared
from rostra.moderation import audit
from rostra.moderation.models import Case, Decision, ModAction, PolicyVersion
from rostra.moderation.notices import create_notice
from rostra.moderation.policy import Policy, Verdict, default_policy
from rostra.moderation.screener import NearDuplicateIndex, RedisNearDuplicateIndex, Screener, ScreenResult


@dataclass(frozen=True)
class GateDecision:
    state: str  # posts.models.ModerationState value, or "refused"
    action: str = "publish"  # policy.ACTIONS
    category: str = ""
    rule: str = ""
    reason: str = ""
    label: str = ""
    scores: dict[str, float] = field(default_factory=dict)
    model_version: str = ""
    policy_version: int = 0
    stage: int = 1
    borderline: tuple[str, ...] = ()
    matched_rules: tuple[str, ...] = ()

    @property
    def refused(self) -> bool:
        return self.state == "refused"


PAST_TENSE = {"hold": "post.held", "limit": "post.limited", "label": "post.labelled"}

_lock = threading.Lock()
_screener: Screener | None = None
_policies: dict[tuple[int, str], Policy] = {}
_rules_for: Policy | None = None  # the policy whose rules the screener holds


def get_screener() -> Screener:
    """The process's screener, loaded once (the committed stage-1 model; no downloads)."""
    global _screener
    if _screener is None:
        with _lock:
            if _screener is None:
                bands = _stage2_bands()
                shared = _shared_near_duplicate_index()
                _screener = Screener.load(borderline=bands, near_duplicate_index=shared) if bands else Screener.load(near_duplicate_index=shared)
    return _screener


def _shared_near_duplicate_index() -> NearDuplicateIndex | None:
    """With REDIS_URL, the spam-wave index every web process shares; else None (in memory)."""
    url = getattr(settings, "ROSTRA", None) and settings.ROSTRA.redis_url
    if not url:
        return None
    import redis

    client = redis.Redis.from_url(str(url), socket_connect_timeout=0.25, socket_timeout=0.5, retry_on_timeout=False)
    prefix = getattr(settings, "NEAR_DUPLICATE_REDIS_PREFIX", "rostra:nd")
    return RedisNearDuplicateIndex(client, prefix=prefix)


def _stage2_bands() -> dict[str, tuple[float, float]] | None:
    try:
        from rostra.moderation.screener import encoder
    except ImportError:
        return None
    bands = getattr(encoder, "borderline_bands", None)
    return bands() if callable(bands) else None


_override: tuple[int, Policy] | None = None


@contextmanager
def using_policy(policy: Policy, version: int = 0) -> Iterator[None]:
    """Screen under ``policy`` without saving it: to try a draft policy on sample posts
    (``rostra moderation screen --policy FILE``), and in tests of other features."""
    global _override
    before = _override
    _override = (version, policy)
    try:
        yield
    finally:
        _override = before


# Asked by every post screened (its answer is cached per version below): prepared once.
_LATEST_POLICY = Prepared("the latest policy version", lambda: PolicyVersion.objects.order_by("-version").values_list("version", "created_at")[:1])


def active_policy() -> tuple[int, Policy]:
    """The policy in force and its version (0: the shipped default, never saved)."""
    if _override is not None:
        return _override
    row = next(iter(_LATEST_POLICY.rows()), None)
    key = (int(row[0]), row[1].isoformat()) if row else (0, "")
    policy = _policies.get(key)
    if policy is None:
        policy = default_policy() if row is None else Policy.from_document(PolicyVersion.objects.get(pk=key[0]).document)
        if len(_policies) > 16:
            _policies.clear()
        _policies[key] = policy
    return key[0], policy


def _screener_for(policy: Policy) -> Screener:
    global _rules_for
    screener = get_screener()
    if _rules_for is not policy:
        with _lock:
            if _rules_for is not policy:
                screener.set_rules(policy.rules)
                _rules_for = policy
    return screener


def is_new_account(created_at: datetime | None, policy: Policy) -> bool:
    return created_at is not None and now() - created_at < timedelta(days=policy.new_account_days)


def screen_post(
    *,
    author_id: int,
    text: str,
    spoiler_text: str,
    account_created_at: datetime | None = None,
    account_held: bool = False,
    remember: bool = True,
    surge: bool = False,
) -> GateDecision:
    """Stage 0 + 1 and the policy, inside the request. Writes nothing. ``surge``: surge mode is on
    (the caller knows; the gate imports no accounts code), so new accounts meet tighter thresholds."""
    version, policy = active_policy()
    screener = _screener_for(policy)
    content = f"{spoiler_text}\n{text}" if spoiler_text else text
    result = screener.screen(content, author_key=f"acct:{author_id}", remember=remember)
    verdict = policy.decide(
        result.scores,
        matched_rules=result.matched_rules,
        near_duplicates=result.near_duplicates,
        near_duplicate_authors=result.near_duplicate_authors,
        new_account=is_new_account(account_created_at, policy),
        account_on_hold=account_held,
        surge=surge,
    )
    return decision_from(result, verdict, version)


def decision_from(result: ScreenResult, verdict: Verdict, policy_version: int) -> GateDecision:
    return GateDecision(
        state=verdict.state,
        action=verdict.action,
        category=verdict.category,
        rule=verdict.rule,
        reason=verdict.reason,
        label=verdict.label,
        scores={k: round(float(v), 4) for k, v in result.scores.items()},
        model_version=result.model_version,
        policy_version=policy_version,
        stage=result.stage,
        borderline=tuple(sorted(result.borderline)),
        matched_rules=tuple(m.rule_id for m in result.matched_rules),
    )


def record(decision: GateDecision, *, post_id: int | None, account_id: int, source: str, excerpt: str = "") -> Decision:
    """Store the decision and what follows from it. Call inside the transaction that writes the post.

    - every decision: a ``Decision`` row (policy version, scores, model version);
    - hold: a case in the review queue and an audit entry;
    - label / limit: an automated action with a notice the author can appeal, and an audit entry;
    - refuse: the decision and an audit entry (no post exists).
    """
    row = store(decision, post_id=post_id, account_id=account_id, source=source)
    consequences(decision, row, post_id=post_id, account_id=account_id, excerpt=excerpt)
    return row


def store(decision: GateDecision, *, post_id: int | None, account_id: int, source: str) -> Decision:
    """Only the ``Decision`` row: what was decided, under which policy, with which scores and model."""
    row = Decision.objects.create(
        post_id=post_id,
        account_id=account_id,
        source=source,
        action=decision.action,
        category=decision.category,
        rule=decision.rule,
        reason=decision.reason,
        scores=decision.scores,
        stage=decision.stage,
        model_version=decision.model_version,
        policy_version=decision.policy_version,
        borderline=list(decision.borderline),
        created_at=now(),
    )
    metrics.count_screener_decision(decision.action, source)
    return row


def consequences(decision: GateDecision, row: Decision, *, post_id: int | None, account_id: int, excerpt: str = "") -> None:
    """What a stored decision sets in motion: an audit entry, a case (hold) or an automated action with a notice."""
    when = row.created_at
    if decision.action == "publish":
        return
    _, policy = active_policy()
    cat = policy.categories.get(decision.category)
    detail = {"decision_id": row.pk, "rule": decision.rule, "scores": decision.scores, "stage": decision.stage, "model_version": decision.model_version}
    if decision.action == "refuse":
        audit.record(None, "post.refused", account_id=account_id, reason=decision.reason, detail=detail, policy_version=decision.policy_version)
        return
    assert post_id is not None
    audit.record(
        None, PAST_TENSE[decision.action],
        target_type="post", target_id=post_id, account_id=account_id, reason=decision.reason, detail=detail,
        policy_version=decision.policy_version,
    )
    if decision.action == "hold":
        open_case(
            account_id=account_id, post_id=post_id, category=decision.category or "other",
            score=max(decision.scores.get(decision.category, 0.0), 0.5 if decision.rule.startswith(("rule:", "spam_wave", "account_hold")) else 0.0),
            severity=cat.severity if cat else 1,
            source="account_hold" if decision.rule == "account_hold" else ("spam_wave" if decision.rule == "spam_wave" else "screener"),
        )
    else:
        action = ModAction.objects.create(
            kind=decision.action, account_id=account_id, post_id=post_id, category=decision.category,
            rule=cat.title if cat else decision.rule, reason=decision.reason,
            evidence=[{"post_id": post_id, "excerpt": excerpt[:500], "scores": decision.scores}],
            automated=True, policy_version=decision.policy_version, created_at=when,
        )
        create_notice(action, guideline=cat.guideline if cat else "", evidence=action.evidence)


def reach_factor(followers: int, recent_reports: int = 0) -> float:
    """How far the post can travel: 1 for a small account, growing with the log of followers and report velocity."""
    import math

    return 1.0 + math.log10(1 + max(0, followers)) + 0.5 * max(0, recent_reports)


def open_case(
    *, account_id: int, post_id: int | None, category: str, score: float, severity: int, source: str, followers: int | None = None,
    recent_reports: int = 0,
) -> Case:
    """Open a case, or add this signal to the open one for the same post (or account). Idempotent per source."""
    when = now()
    if followers is None:
        from django.apps import apps

        account_model = apps.get_model("accounts", "Account")
        followers = account_model.objects.filter(pk=account_id).values_list("followers_count", flat=True).first() or 0
    reach = reach_factor(followers, recent_reports)
    lookup: dict[str, Any] = {"status": Case.Status.OPEN, "account_id": account_id}
    lookup.update({"post_id": post_id} if post_id is not None else {"post__isnull": True})
    case = Case.objects.select_for_update().filter(**lookup).first()
    if case is None:
        try:
            with transaction.atomic():
                case = Case.objects.create(
                    account_id=account_id, post_id=post_id, category=category, score=score, severity=severity, reach=reach,
                    priority=severity * reach * max(score, 0.05), sources=[source], created_at=when, updated_at=when,
                )
                return case
        except IntegrityError:
            case = Case.objects.select_for_update().get(**lookup)
    if severity * max(score, 0.05) > case.severity * max(case.score, 0.05):
        case.category, case.score, case.severity = category, score, severity
    case.reach = max(case.reach, reach)
    if source not in case.sources:
        case.sources = [*case.sources, source]
    case.priority = case.severity * case.reach * max(case.score, 0.05)
    case.updated_at = when
    case.save(update_fields=["category", "score", "severity", "reach", "sources", "priority", "updated_at"])
    return case
