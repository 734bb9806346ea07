"""Every trust-and-safety write: reports, the queue, actions and notices, appeals, juries, the policy.

Each public function checks who is asking (``moderation.policies``), validates its input (a
``ValidationError`` writes nothing), does its work in one transaction, and writes an audit entry
in the same transaction. Side effects that reach other people (notifications, e-mail, timeline
clean-up, federation) run after commit from the pipeline, carrying ids only.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F

from rostra.accounts.models import Account, Block, Follow, Role, User
from rostra.core import events
from rostra.core.clock import now
from rostra.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from rostra.core.prepared import Prepared
from rostra.moderation import audit, gate, policies
from rostra.moderation.models import (
    CATEGORY_CHOICES,
    Appeal,
    AppealMessage,
    Case,
    Decision,
    Jury,
    JurySeat,
    ModAction,
    Notice,
    PolicyVersion,
    Report,
)
from rostra.moderation.notices import create_notice
from rostra.moderation.policy import STRICTNESS, Policy, PolicyError
from rostra.notifications.models import Kind, Notification
from rostra.posts.models import ModerationState, Post, Visibility
from rostra.posts.queries import visible_post, visible_posts

log = logging.getLogger("rostra.moderation")

CATEGORIES = {c for c, _ in CATEGORY_CHOICES}
MAX_COMMENT = 1000
MAX_EVIDENCE = 20
CLAIM_MINUTES = 15
MAX_SUSPEND_DAYS = 3650
JURY_SIZE = 5
JURY_DAYS = 3
JURY_MIN_ACCOUNT_DAYS = 30
APPEAL_WINDOW_DAYS = 90
POST_KINDS = {ModAction.Kind.REMOVE, ModAction.Kind.LABEL, ModAction.Kind.LIMIT, ModAction.Kind.HOLD, ModAction.Kind.RESTORE}
ACCOUNT_KINDS = {ModAction.Kind.WARN, ModAction.Kind.HOLD_ACCOUNT, ModAction.Kind.SUSPEND, ModAction.Kind.BAN, ModAction.Kind.LIFT}
NOTIFIED_KINDS = {ModAction.Kind.REMOVE, ModAction.Kind.LABEL, ModAction.Kind.LIMIT, ModAction.Kind.WARN, ModAction.Kind.HOLD_ACCOUNT, ModAction.Kind.SUSPEND, ModAction.Kind.BAN}


def _require_moderator(user: Any) -> None:
    if not policies.is_moderator(user):
        raise PermissionDenied("Only moderators can do that.")


def _policy() -> tuple[int, Policy]:
    return gate.active_policy()


def _guideline(category: str) -> tuple[str, str]:
    """(title, guideline) for a category in the policy in force."""
    _, policy = _policy()
    cp = policy.categories.get(category)
    return (cp.title, cp.guideline) if cp else ("Community guidelines", "")


def _excerpt(post: Post | None) -> str:
    if post is None:
        return ""
    return (f"[{post.spoiler_text}] " if post.spoiler_text else "") + post.text[:500]


def _latest_scores(post_id: int | None) -> dict[str, float]:
    if post_id is None:
        return {}
    row = Decision.objects.filter(post_id=post_id).order_by("-created_at").values_list("scores", flat=True).first()
    return dict(row or {})


# ---- reports ---------------------------------------------------------------------------------


def report(
    reporter: Account,
    *,
    account_id: int | None = None,
    post_id: int | None = None,
    category: str,
    comment: str = "",
    evidence_post_ids: Sequence[int] = (),
    forward: bool = False,
) -> Report:
    """Ask the moderators to look at a post or an account. Reports against held posts are accepted too.
    ``forward``: about a remote account, also send it to its server's moderators ("report.forwarded";
    the instance sends it in its own name, never the reporter's)."""
    errors: dict[str, list[str]] = {}
    if category not in CATEGORIES:
        errors["category"] = ["Choose what is wrong: " + ", ".join(label.lower() for _, label in CATEGORY_CHOICES) + "."]
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        errors["comment"] = [f"The comment is at most {MAX_COMMENT} characters."]
    if len(evidence_post_ids) > MAX_EVIDENCE:
        errors["evidence"] = [f"Attach at most {MAX_EVIDENCE} posts as evidence."]
    if errors:
        raise ValidationError(next(iter(errors.values()))[0], errors=errors)
    post = None
    if post_id is not None:
        post = visible_post(reporter, post_id, "author")
        if post is None:
            # A post held since you saw it can still be reported, if you could have seen it.
            post = (
                Post.objects.filter(pk=post_id, moderation_state=ModerationState.HELD, visibility__in=(Visibility.PUBLIC, Visibility.UNLISTED))
                .select_related("author")
                .first()
            )
        if post is None:
            raise NotFound("The post you are reporting is not available.")
        account_id = post.author_id
    if account_id is None:
        raise ValidationError("Say which post or account you are reporting.")
    target = Account.objects.filter(pk=account_id).first()
    if target is None:
        raise NotFound("The account you are reporting is not available.")
    if target.pk == reporter.pk:
        raise ValidationError("You cannot report yourself.")
    evidence = list(dict.fromkeys(int(i) for i in evidence_post_ids))
    if evidence:
        found = set(visible_posts(reporter).filter(pk__in=evidence, author_id=target.pk).values_list("pk", flat=True))
        missing = [i for i in evidence if i not in found]
        if missing:
            raise ValidationError(f"Evidence must be posts by the reported account that you can see; not: {', '.join(map(str, missing))}.", field="evidence")
    _, policy = _policy()
    cp = policy.categories.get(category)
    severity = cp.severity if cp else 1
    when = now()
    with transaction.atomic():
        earlier = Report.objects.filter(reporter=reporter, account=target, post=post, status=Report.Status.OPEN).first()
        recent = Report.objects.filter(account=target, created_at__gte=when - timedelta(hours=1)).count()
        distinct = Report.objects.filter(account=target, post=post, status=Report.Status.OPEN).values("reporter").distinct().count()
        score = max(_latest_scores(post.pk if post else None).get(category, 0.0), min(0.9, 0.5 + 0.1 * distinct))
        case = gate.open_case(
            account_id=target.pk, post_id=post.pk if post else None, category=category if category in policy.categories else "other",
            score=score, severity=severity, source="report", followers=target.followers_count, recent_reports=recent,
        )
        if earlier is not None:  # the same person reporting again adds to their report, not to the count
            earlier.comment = "\n\n".join(x for x in (earlier.comment, comment) if x)[:4 * MAX_COMMENT]
            earlier.evidence_post_ids = list(dict.fromkeys([*earlier.evidence_post_ids, *evidence]))
            earlier.category = category
            earlier.case = case
            earlier.forwarded = earlier.forwarded or (forward and not target.is_local)
            earlier.save(update_fields=["comment", "evidence_post_ids", "category", "case", "forwarded"])
            if forward and not target.is_local:
                events.emit("report.forwarded", report_id=earlier.pk)
            return earlier
        rep = Report.objects.create(
            reporter=reporter, account=target, post=post, evidence_post_ids=evidence, category=category, comment=comment, case=case, created_at=when,
            forwarded=forward and not target.is_local,
        )
        Case.objects.filter(pk=case.pk).update(reports_count=F("reports_count") + 1)
        if forward and not target.is_local:
            events.emit("report.forwarded", report_id=rep.pk)
        audit.record(
            reporter.user, "report.created", target_type="post" if post else "account", target_id=post.pk if post else target.pk,
            account_id=target.pk, reason=comment[:500], detail={"category": category, "case_id": case.pk, "report_id": rep.pk},
        )
    return rep


# ---- the queue -------------------------------------------------------------------------------


def _open_case_for(user: User, case_id: int) -> Case:
    """The open case, locked for this transaction; refused if another moderator holds a live claim."""
    case = Case.objects.select_for_update().filter(pk=case_id).first()
    if case is None:
        raise NotFound("No such case.")
    if case.status != Case.Status.OPEN:
        raise Conflict("This case is already closed.")
    if case.claimed_by_id not in (None, user.pk) and case.claimed_until and case.claimed_until > now():
        other = User.objects.filter(pk=case.claimed_by_id).values_list("username", flat=True).first()
        raise Conflict(f"@{other} is working on this case until {case.claimed_until:%H:%M} UTC.")
    return case


def claim(user: User, case_id: int) -> Case:
    """Take a case for CLAIM_MINUTES so no other moderator works it at the same time."""
    _require_moderator(user)
    with transaction.atomic():
        case = _open_case_for(user, case_id)
        when = now()
        case.claimed_by = user
        case.claimed_until = when + timedelta(minutes=CLAIM_MINUTES)
        case.save(update_fields=["claimed_by", "claimed_until"])
        audit.record(user, "case.claimed", target_type="case", target_id=case.pk, account_id=case.account_id)
    return case


def release(user: User, case_id: int) -> None:
    _require_moderator(user)
    with transaction.atomic():
        n = Case.objects.filter(pk=case_id, claimed_by=user).update(claimed_by=None, claimed_until=None)
        if n:
            audit.record(user, "case.released", target_type="case", target_id=case_id)


@dataclass(frozen=True)
class Outcome:
    action: ModAction | None
    case: Case | None


def decide_case(user: User, case_id: int, kind: str, *, reason: str = "", days: int | None = None, category: str | None = None) -> Outcome:
    """Close a case with an action on its post (remove, label, limit, restore) or its account
    (warn, hold_account, suspend, ban), or ``dismiss`` it. A case claimed by someone else is refused."""
    _require_moderator(user)
    with transaction.atomic():
        case = _open_case_for(user, case_id)
        category = category or case.category
        if kind == ModAction.Kind.DISMISS:
            action = None
            if case.post_id and Post.objects.filter(pk=case.post_id, moderation_state=ModerationState.HELD).exists():
                # Dismissing a held post's case means it was fine: publish it.
                action = _act_on_post(user, case.post_id, ModAction.Kind.RESTORE, reason=reason or "Reviewed: no rule broken.", category=category, case=case)
            _close(case, user, "dismissed")
            audit.record(user, "case.dismissed", target_type="case", target_id=case.pk, account_id=case.account_id, reason=reason)
            return Outcome(action, case)
        if kind in POST_KINDS:
            if case.post_id is None:
                raise ValidationError("This case is about an account; choose an action on the account.")
            action = _act_on_post(user, case.post_id, kind, reason=reason, category=category, case=case)
        elif kind in ACCOUNT_KINDS:
            action = _act_on_account(user, case.account_id, kind, reason=reason, days=days, category=category, case=case)
        else:
            raise ValidationError(f"Unknown action {kind!r}.")
        _close(case, user, kind)
    return Outcome(action, case)


def _close(case: Case, user: User, resolution: str) -> None:
    when = now()
    case.status = Case.Status.CLOSED
    case.closed_at = when
    case.closed_by = user
    case.resolution = resolution
    case.claimed_by = None
    case.claimed_until = None
    case.save(update_fields=["status", "closed_at", "closed_by", "resolution", "claimed_by", "claimed_until"])
    status = Report.Status.DISMISSED if resolution in ("dismissed", ModAction.Kind.RESTORE) else Report.Status.ACTIONED
    Report.objects.filter(case=case, status=Report.Status.OPEN).update(status=status, resolved_at=when)


def bulk_decide(user: User, case_ids: Iterable[int], kind: str, *, reason: str = "", days: int | None = None) -> dict[str, list[int]]:
    """The same action on many cases (a spam wave). Each case in its own transaction; returns done/skipped ids."""
    _require_moderator(user)
    done: list[int] = []
    skipped: list[int] = []
    for case_id in list(dict.fromkeys(case_ids))[:500]:
        try:
            decide_case(user, case_id, kind, reason=reason, days=days)
            done.append(case_id)
        except (Conflict, NotFound, PermissionDenied, ValidationError):
            skipped.append(case_id)
    return {"done": done, "skipped": skipped}


def act_on_post(user: User, post_id: int, kind: str, *, reason: str = "", category: str = "other") -> ModAction:
    """A moderator acting on a post directly (from its page), outside the queue; closes its open case."""
    _require_moderator(user)
    if kind not in POST_KINDS:
        raise ValidationError(f"Unknown action on a post: {kind!r}.")
    with transaction.atomic():
        case = Case.objects.select_for_update().filter(post_id=post_id, status=Case.Status.OPEN).first()
        action = _act_on_post(user, post_id, kind, reason=reason, category=category, case=case)
        if case is not None:
            _close(case, user, kind)
    return action


def act_on_account(user: User, account_id: int, kind: str, *, reason: str = "", days: int | None = None, category: str = "other") -> ModAction:
    _require_moderator(user)
    if kind not in ACCOUNT_KINDS:
        raise ValidationError(f"Unknown action on an account: {kind!r}.")
    with transaction.atomic():
        case = Case.objects.select_for_update().filter(account_id=account_id, post__isnull=True, status=Case.Status.OPEN).first()
        action = _act_on_account(user, account_id, kind, reason=reason, days=days, category=category, case=case)
        if case is not None:
            _close(case, user, kind)
    return action


def _act_on_post(user: User | None, post_id: int, kind: str, *, reason: str, category: str, case: Case | None) -> ModAction:
    post = Post.objects.select_for_update().filter(pk=post_id).first()
    if post is None:
        raise NotFound("That post no longer exists.")
    if category not in CATEGORIES:
        raise ValidationError("Choose which rule the post breaks.", field="category")
    if kind in (ModAction.Kind.REMOVE, ModAction.Kind.LABEL, ModAction.Kind.LIMIT) and not reason.strip() and user is not None:
        reason = "A moderator found that this post breaks the rule named above."
    version, _ = _policy()
    title, guideline = _guideline(category)
    before = post.moderation_state
    if kind == ModAction.Kind.REMOVE:
        post.moderation_state = ModerationState.REMOVED
    elif kind == ModAction.Kind.LIMIT:
        post.moderation_state = ModerationState.LIMITED
    elif kind == ModAction.Kind.HOLD:
        post.moderation_state = ModerationState.HELD
    elif kind == ModAction.Kind.LABEL:
        post.moderation_label = _policy()[1].categories[category].label if category in _policy()[1].categories else "Sensitive content"
        post.sensitive = True
        if post.moderation_state in (ModerationState.HELD,):
            post.moderation_state = ModerationState.PUBLISHED
    elif kind == ModAction.Kind.RESTORE:
        post.moderation_state = ModerationState.PUBLISHED
        post.moderation_label = ""
    post.save(update_fields=["moderation_state", "moderation_label", "sensitive"])
    when = now()
    action = ModAction.objects.create(
        kind=kind, account_id=post.author_id, post=post, case=case, category=category, rule=title, reason=reason.strip(),
        evidence=[{"post_id": post.pk, "excerpt": _excerpt(post), "scores": _latest_scores(post.pk)}],
        automated=user is None, moderator=user, policy_version=version, created_at=when,
    )
    audit.record(
        user, f"post.{kind}", target_type="post", target_id=post.pk, account_id=post.author_id, reason=reason,
        detail={"action_id": action.pk, "case_id": case.pk if case else None, "category": category, "before": before, "after": post.moderation_state},
        policy_version=version,
    )
    if kind in NOTIFIED_KINDS:
        create_notice(action, guideline=guideline, evidence=action.evidence)
    events.emit("post.moderated", post_id=post.pk, before=str(before), after=str(post.moderation_state))
    return action


def _act_on_account(
    user: User | None, account_id: int, kind: str, *, reason: str, days: int | None, category: str, case: Case | None
) -> ModAction:
    account = Account.objects.select_for_update().filter(pk=account_id).first()
    if account is None:
        raise NotFound("That account no longer exists.")
    if category not in CATEGORIES:
        raise ValidationError("Choose which rule the account broke.", field="category")
    if account.user_id and User.objects.filter(pk=account.user_id, role=Role.ADMIN).exists() and kind in (ModAction.Kind.SUSPEND, ModAction.Kind.BAN):
        raise PermissionDenied("An admin cannot be suspended; change their role first.")
    when = now()
    ends_at = None
    if kind in (ModAction.Kind.SUSPEND, ModAction.Kind.HOLD_ACCOUNT):
        if days is not None and (not isinstance(days, int) or not 1 <= days <= MAX_SUSPEND_DAYS):
            raise ValidationError(f"The period is a whole number of days from 1 to {MAX_SUSPEND_DAYS}.", field="days")
        if kind == ModAction.Kind.SUSPEND and days is None:
            raise ValidationError("Say for how many days; to suspend for good, choose 'suspend for good'.", field="days")
        ends_at = when + timedelta(days=days) if days else None
    if kind in (ModAction.Kind.SUSPEND, ModAction.Kind.BAN, ModAction.Kind.HOLD_ACCOUNT, ModAction.Kind.WARN) and not reason.strip() and user is not None:
        reason = "A moderator found that this account breaks the rule named above."
    fields: list[str] = []
    if kind == ModAction.Kind.SUSPEND:
        account.suspended_at, account.suspended_until = when, ends_at
        fields = ["suspended_at", "suspended_until"]
    elif kind == ModAction.Kind.BAN:
        account.suspended_at, account.suspended_until = when, None
        fields = ["suspended_at", "suspended_until"]
    elif kind == ModAction.Kind.HOLD_ACCOUNT:
        account.hold_posts_until = ends_at or when + timedelta(days=MAX_SUSPEND_DAYS * 10)
        fields = ["hold_posts_until"]
    elif kind == ModAction.Kind.LIFT:
        account.suspended_at = account.suspended_until = account.hold_posts_until = None
        fields = ["suspended_at", "suspended_until", "hold_posts_until"]
    if fields:
        account.save(update_fields=fields)
    version, _ = _policy()
    title, guideline = _guideline(category)
    evidence = []
    if case is not None:
        for rep in Report.objects.filter(case=case).order_by("created_at")[:MAX_EVIDENCE]:
            ids = [rep.post_id] if rep.post_id else []
            for pid in [*ids, *rep.evidence_post_ids]:
                p = Post.objects.filter(pk=pid, author_id=account.pk).first()
                if p is not None:
                    evidence.append({"post_id": p.pk, "excerpt": _excerpt(p), "scores": _latest_scores(p.pk)})
        if case.post_id and not any(e["post_id"] == case.post_id for e in evidence):
            p = Post.objects.filter(pk=case.post_id).first()
            if p is not None:
                evidence.insert(0, {"post_id": p.pk, "excerpt": _excerpt(p), "scores": _latest_scores(p.pk)})
    action = ModAction.objects.create(
        kind=kind, account=account, post_id=case.post_id if case else None, case=case, category=category, rule=title, reason=reason.strip(),
        evidence=evidence[:MAX_EVIDENCE], automated=user is None, moderator=user, policy_version=version, ends_at=ends_at, created_at=when,
    )
    audit.record(
        user, f"account.{kind}", target_type="account", target_id=account.pk, account_id=account.pk, reason=reason,
        detail={"action_id": action.pk, "case_id": case.pk if case else None, "category": category, "ends_at": ends_at.isoformat() if ends_at else None},
        policy_version=version,
    )
    if kind in NOTIFIED_KINDS:
        create_notice(action, guideline=guideline, evidence=action.evidence)
    if kind in (ModAction.Kind.SUSPEND, ModAction.Kind.BAN, ModAction.Kind.LIFT):
        events.emit("account.moderated", account_id=account.pk, action=str(kind))
    return action


def lift_expired(at: Any = None) -> int:
    """End suspensions and holds whose period is over (a periodic task). Returns how many ended."""
    when = at or now()
    ended = 0
    for account in Account.objects.filter(suspended_at__isnull=False, suspended_until__isnull=False, suspended_until__lte=when):
        with transaction.atomic():
            n = Account.objects.filter(pk=account.pk, suspended_until__lte=when).update(suspended_at=None, suspended_until=None)
            if n:
                ended += 1
                audit.record(None, "account.suspension_ended", target_type="account", target_id=account.pk, account_id=account.pk)
                events.emit("account.moderated", account_id=account.pk, action="lift")
    for account in Account.objects.filter(hold_posts_until__isnull=False, hold_posts_until__lte=when):
        with transaction.atomic():
            if Account.objects.filter(pk=account.pk, hold_posts_until__lte=when).update(hold_posts_until=None):
                ended += 1
                audit.record(None, "account.hold_ended", target_type="account", target_id=account.pk, account_id=account.pk)
    return ended


# ---- notices ---------------------------------------------------------------------------------


def deliver_notice(notice_id: int) -> None:
    """After commit: the notification and the e-mail. Idempotent."""
    notice = Notice.objects.select_related("action", "account__user").filter(pk=notice_id).first()
    if notice is None:
        return
    Notification.objects.get_or_create(
        dedupe_key=f"notice:{notice.pk}",
        defaults={"recipient_id": notice.account_id, "kind": Kind.MODERATION, "actor_id": notice.account_id, "post_id": notice.action.post_id, "notice": notice},
    )
    user = notice.account.user
    if notice.emailed_at is None and user is not None and user.email:
        url = f"{settings.ROSTRA.base_url}/notices/{notice.action_id}"
        send_mail(f"[{settings.ROSTRA.instance_name}] {notice.subject}", f"{notice.body}\n\n{url}\n", None, [user.email], fail_silently=False)
        Notice.objects.filter(pk=notice.pk, emailed_at__isnull=True).update(emailed_at=now())


def mark_notice_read(account: Account, action_id: int) -> None:
    Notice.objects.filter(account=account, action_id=action_id, read_at__isnull=True).update(read_at=now())


# ---- appeals ---------------------------------------------------------------------------------


def appeal(account: Account, action_id: int, statement: str) -> Appeal:
    statement = (statement or "").strip()
    action = ModAction.objects.filter(pk=action_id, account=account).first()
    if action is None:
        raise NotFound("No such decision.")
    if not statement:
        raise ValidationError("Say why the decision is wrong.", field="statement")
    if len(statement) > 2000:
        raise ValidationError("An appeal is at most 2,000 characters.", field="statement")
    if not action.is_appealable:
        raise ValidationError("This decision cannot be appealed.")
    if Appeal.objects.filter(action=action).exists():
        raise Conflict("You have already appealed this decision.")
    if now() - action.created_at > timedelta(days=APPEAL_WINDOW_DAYS):
        raise ValidationError(f"Decisions can be appealed for {APPEAL_WINDOW_DAYS} days.")
    with transaction.atomic():
        ap = Appeal.objects.create(action=action, account=account, statement=statement, created_at=now())
        AppealMessage.objects.create(appeal=ap, author=account.user, body=statement, created_at=ap.created_at)
        audit.record(account.user, "appeal.created", target_type="appeal", target_id=ap.pk, account_id=account.pk, detail={"action_id": action.pk})
    return ap


def appeal_message(user: User, appeal_id: int, body: str) -> AppealMessage:
    ap = Appeal.objects.select_related("action").filter(pk=appeal_id).first()
    if ap is None or not policies.can_read_appeal(user, ap):
        raise NotFound("No such appeal.")
    body = (body or "").strip()
    if not body or len(body) > 2000:
        raise ValidationError("A message is 1 to 2,000 characters.", field="body")
    if ap.status in (Appeal.Status.REVERSED, Appeal.Status.UPHELD):
        raise Conflict("This appeal has been decided.")
    staff = policies.is_moderator(user) and getattr(getattr(user, "account", None), "pk", None) != ap.account_id
    return AppealMessage.objects.create(appeal=ap, author=user, from_staff=staff, body=body, created_at=now())


def decide_appeal(user: User, appeal_id: int, outcome: str, reason: str) -> Appeal:
    """``outcome`` is "reverse" or "uphold"; decided by a moderator other than the one who acted."""
    ap = Appeal.objects.select_related("action").filter(pk=appeal_id).first()
    if ap is None:
        raise NotFound("No such appeal.")
    if not policies.can_decide_appeal(user, ap):
        raise PermissionDenied("An appeal is decided by a moderator other than the one who acted.")
    if ap.status not in (Appeal.Status.OPEN,):
        raise Conflict("This appeal is not waiting for a moderator.")
    return _settle(ap, outcome, reason, user=user, jury=False)


def _settle(ap: Appeal, outcome: str, reason: str, *, user: User | None, jury: bool) -> Appeal:
    if outcome not in ("reverse", "uphold"):
        raise ValidationError("Choose to reverse or uphold the decision.", field="outcome")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Write the reason for the decision; the person will read it.", field="reason")
    with transaction.atomic():
        ap = Appeal.objects.select_for_update().select_related("action").get(pk=ap.pk)
        if ap.status in (Appeal.Status.REVERSED, Appeal.Status.UPHELD):
            raise Conflict("This appeal has been decided.")
        when = now()
        if outcome == "reverse":
            _reverse(ap.action, user)
        ap.status = Appeal.Status.REVERSED if outcome == "reverse" else Appeal.Status.UPHELD
        ap.decided_at, ap.decided_by, ap.decided_by_jury, ap.decision_reason = when, user, jury, reason
        ap.save(update_fields=["status", "decided_at", "decided_by", "decided_by_jury", "decision_reason"])
        AppealMessage.objects.create(appeal=ap, author=user, from_staff=True, body=f"Decision: {ap.get_status_display().lower()}. {reason}", created_at=when)
        version, _ = _policy()
        audit.record(
            user, f"appeal.{ap.status}", target_type="appeal", target_id=ap.pk, account_id=ap.account_id, reason=reason,
            detail={"action_id": ap.action_id, "by_jury": jury}, policy_version=version,
        )
        notice = Notice.objects.filter(action_id=ap.action_id).first()
        events.emit("appeal.decided", appeal_id=ap.pk, notice_id=notice.pk if notice else None)
    return ap


def _reverse(action: ModAction, user: User | None) -> None:
    """Undo an action after a successful appeal."""
    when = now()
    if action.post_id is not None and action.kind in (ModAction.Kind.REMOVE, ModAction.Kind.LIMIT, ModAction.Kind.LABEL):
        post = Post.objects.select_for_update().filter(pk=action.post_id).first()
        if post is not None:
            before = post.moderation_state
            if action.kind == ModAction.Kind.LABEL:
                post.moderation_label = ""
            else:
                post.moderation_state = ModerationState.PUBLISHED
            post.save(update_fields=["moderation_state", "moderation_label"])
            events.emit("post.moderated", post_id=post.pk, before=str(before), after=str(post.moderation_state))
    elif action.kind in (ModAction.Kind.SUSPEND, ModAction.Kind.BAN):
        Account.objects.filter(pk=action.account_id).update(suspended_at=None, suspended_until=None)
        events.emit("account.moderated", account_id=action.account_id, action="lift")
    elif action.kind == ModAction.Kind.HOLD_ACCOUNT:
        Account.objects.filter(pk=action.account_id).update(hold_posts_until=None)
    ModAction.objects.filter(pk=action.pk).update(reversed_at=when, reversed_by=user)


def deliver_appeal_decision(appeal_id: int, notice_id: int | None) -> None:
    ap = Appeal.objects.select_related("account__user", "action").filter(pk=appeal_id).first()
    if ap is None:
        return
    Notification.objects.get_or_create(
        dedupe_key=f"appeal:{ap.pk}",
        defaults={"recipient_id": ap.account_id, "kind": Kind.APPEAL_DECIDED, "actor_id": ap.account_id, "notice_id": notice_id},
    )
    user = ap.account.user
    if user is not None and user.email:
        verdict = "reversed: the decision is undone" if ap.status == Appeal.Status.REVERSED else "upheld: the decision stands"
        url = f"{settings.ROSTRA.base_url}/notices/{ap.action_id}"
        send_mail(
            f"[{settings.ROSTRA.instance_name}] Your appeal was decided",
            f"Your appeal was {verdict}.\n\nReason: {ap.decision_reason}\n\n{url}\n", None, [user.email], fail_silently=False,
        )


# ---- the community jury ----------------------------------------------------------------------


def eligible_jurors(ap: Appeal) -> list[int]:
    """Members in good standing, old enough, not connected to the parties."""
    when = now()
    parties = {ap.account_id}
    if ap.action.moderator_id:
        mod_account = Account.objects.filter(user_id=ap.action.moderator_id).values_list("pk", flat=True).first()
        if mod_account:
            parties.add(mod_account)
    reporters = set(Report.objects.filter(case_id=ap.action.case_id).values_list("reporter_id", flat=True)) if ap.action.case_id else set()
    connected = set(Follow.objects.filter(follower_id__in=parties).values_list("target_id", flat=True))
    connected |= set(Follow.objects.filter(target_id__in=parties).values_list("follower_id", flat=True))
    connected |= set(Block.objects.filter(account_id__in=parties).values_list("target_id", flat=True))
    connected |= set(Block.objects.filter(target_id__in=parties).values_list("account_id", flat=True))
    sanctioned = set(
        ModAction.objects.filter(created_at__gte=when - timedelta(days=180), reversed_at__isnull=True)
        .exclude(kind__in=(ModAction.Kind.RESTORE, ModAction.Kind.LIFT, ModAction.Kind.DISMISS, ModAction.Kind.HOLD))
        .values_list("account_id", flat=True)
    )
    candidates = Account.objects.filter(
        domain="", user__isnull=False, user__is_active=True, user__role=Role.MEMBER, suspended_at__isnull=True,
        hold_posts_until__isnull=True, created_at__lte=when - timedelta(days=JURY_MIN_ACCOUNT_DAYS),
    ).values_list("pk", flat=True)
    return [pk for pk in candidates if pk not in parties | reporters | connected | sanctioned]


def send_to_jury(user: User, appeal_id: int, *, size: int = JURY_SIZE, days: int = JURY_DAYS) -> Jury:
    """A moderator sends an appeal to a randomly drawn community jury instead of deciding it."""
    ap = Appeal.objects.select_related("action").filter(pk=appeal_id).first()
    if ap is None:
        raise NotFound("No such appeal.")
    if not policies.can_decide_appeal(user, ap):
        raise PermissionDenied("An appeal is sent to a jury by a moderator other than the one who acted.")
    if ap.status != Appeal.Status.OPEN:
        raise Conflict("This appeal is not waiting for a moderator.")
    if not (3 <= size <= 25 and size % 2 == 1):
        raise ValidationError("A jury has an odd number of members from 3 to 25.", field="size")
    if not 1 <= days <= 14:
        raise ValidationError("A jury has 1 to 14 days.", field="days")
    pool = eligible_jurors(ap)
    if len(pool) < size:
        raise Conflict(f"Only {len(pool)} members are eligible to serve; a jury of {size} cannot be drawn. Decide the appeal yourself.")
    drawn = secrets.SystemRandom().sample(pool, size)
    when = now()
    with transaction.atomic():
        jury = Jury.objects.create(appeal=ap, size=size, created_at=when, deadline=when + timedelta(days=days))
        JurySeat.objects.bulk_create([JurySeat(jury=jury, account_id=a) for a in drawn])
        Appeal.objects.filter(pk=ap.pk).update(status=Appeal.Status.JURY)
        audit.record(user, "appeal.sent_to_jury", target_type="appeal", target_id=ap.pk, account_id=ap.account_id, detail={"jury_id": jury.pk, "size": size})
        events.emit("jury.drawn", jury_id=jury.pk)
    return jury


def summon_jurors(jury_id: int) -> None:
    for seat in JurySeat.objects.filter(jury_id=jury_id, status=JurySeat.Status.INVITED):
        Notification.objects.get_or_create(
            dedupe_key=f"jury:{jury_id}:{seat.account_id}",
            defaults={"recipient_id": seat.account_id, "kind": Kind.JURY_SUMMONS, "actor_id": seat.account_id},
        )


def _seat(account: Account, jury_id: int) -> JurySeat:
    seat = JurySeat.objects.select_related("jury").filter(jury_id=jury_id, account=account).first()
    if seat is None:
        raise NotFound("No such jury.")
    if seat.jury.status != Jury.Status.OPEN or seat.jury.deadline <= now():
        raise Conflict("This jury has finished.")
    return seat


def recuse(account: Account, jury_id: int, reason: str = "") -> None:
    """Step aside (a conflict of interest, or no time); a replacement is drawn if one is eligible."""
    with transaction.atomic():
        seat = _seat(account, jury_id)
        if seat.status == JurySeat.Status.VOTED:
            raise Conflict("You have already voted.")
        seat.status, seat.reason = JurySeat.Status.RECUSED, (reason or "").strip()[:1000]
        seat.save(update_fields=["status", "reason"])
        ap = Appeal.objects.select_related("action").get(pk=seat.jury.appeal_id)
        taken = set(JurySeat.objects.filter(jury_id=jury_id).values_list("account_id", flat=True))
        pool = [a for a in eligible_jurors(ap) if a not in taken]
        audit.record(account.user, "jury.recused", target_type="jury", target_id=jury_id)
        if pool:
            JurySeat.objects.create(jury_id=jury_id, account_id=secrets.choice(pool))
            events.emit("jury.drawn", jury_id=jury_id)


def vote(account: Account, jury_id: int, choice: str, reason: str) -> JurySeat:
    if choice not in ("reverse", "uphold"):
        raise ValidationError("Vote to reverse or to uphold the decision.", field="vote")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Write the reason for your vote; the person will read the jury's reasons.", field="reason")
    with transaction.atomic():
        seat = _seat(account, jury_id)
        if seat.status != JurySeat.Status.INVITED:
            raise Conflict("You have already voted or stepped aside.")
        seat.status, seat.vote, seat.reason, seat.voted_at = JurySeat.Status.VOTED, choice, reason[:2000], now()
        seat.save(update_fields=["status", "vote", "reason", "voted_at"])
        audit.record(account.user, "jury.voted", target_type="jury", target_id=jury_id)
        jury = Jury.objects.select_for_update().get(pk=jury_id)
        votes = list(JurySeat.objects.filter(jury=jury, status=JurySeat.Status.VOTED).values_list("vote", flat=True))
        for option in ("reverse", "uphold"):
            if votes.count(option) * 2 > jury.size:
                _close_jury(jury, option)
                break
    return seat


def _close_jury(jury: Jury, outcome: str) -> None:
    seats = JurySeat.objects.filter(jury=jury, status=JurySeat.Status.VOTED).order_by("voted_at")
    reasons = "\n".join(f"- ({s.vote}) {s.reason}" for s in seats)
    jury.status, jury.outcome, jury.decided_at = Jury.Status.DECIDED, outcome, now()
    jury.save(update_fields=["status", "outcome", "decided_at"])
    ap = Appeal.objects.select_related("action").get(pk=jury.appeal_id)
    Appeal.objects.filter(pk=ap.pk).update(status=Appeal.Status.OPEN)  # _settle expects an undecided appeal
    _settle(ap, outcome, f"A community jury of {jury.size} decided by majority. Their reasons:\n{reasons}", user=None, jury=True)


def close_expired_juries(at: Any = None) -> int:
    """At the deadline: a strict majority of the votes cast decides; otherwise the appeal returns to the moderators."""
    when = at or now()
    closed = 0
    for jury in Jury.objects.filter(status=Jury.Status.OPEN, deadline__lte=when):
        with transaction.atomic():
            jury = Jury.objects.select_for_update().get(pk=jury.pk)
            if jury.status != Jury.Status.OPEN:
                continue
            votes = list(JurySeat.objects.filter(jury=jury, status=JurySeat.Status.VOTED).values_list("vote", flat=True))
            r, u = votes.count("reverse"), votes.count("uphold")
            if r != u and len(votes) * 2 >= jury.size:  # a quorum of half the seats, and no tie
                _close_jury(jury, "reverse" if r > u else "uphold")
            else:
                jury.status, jury.decided_at = Jury.Status.LAPSED, when
                jury.save(update_fields=["status", "decided_at"])
                Appeal.objects.filter(pk=jury.appeal_id).update(status=Appeal.Status.OPEN)
                audit.record(None, "jury.lapsed", target_type="jury", target_id=jury.pk, detail={"votes": len(votes)})
            closed += 1
    return closed


# ---- the policy ------------------------------------------------------------------------------


def save_policy(user: User, document: Any, note: str = "") -> PolicyVersion:
    """Admins only. Validates the whole document and stores it as the next version (the old ones stay)."""
    if not policies.is_admin(user):
        raise PermissionDenied("Only admins can change the policy.")
    try:
        Policy.from_document(document)
    except PolicyError as e:
        raise ValidationError("The policy has problems: " + str(e), errors=e.errors) from e
    with transaction.atomic():
        current = PolicyVersion.objects.select_for_update().order_by("-version").first()
        version = (current.version if current else 0) + 1
        row = PolicyVersion.objects.create(version=version, document=document, note=(note or "").strip()[:500], created_by=user)
        audit.record(user, "policy.saved", target_type="policy", target_id=version, reason=row.note, policy_version=version)
    return row


# ---- stage 2 ---------------------------------------------------------------------------------

_stage2: Any = None
_stage2_tried = False


def get_stage2() -> Any:
    """The deep screener, loaded once per worker; None when it is unavailable (logged once)."""
    global _stage2, _stage2_tried
    if not _stage2_tried:
        _stage2_tried = True
        try:
            from rostra.moderation.screener.encoder import load_stage2, unavailable_reason

            _stage2 = load_stage2(stage1=gate.get_screener().model)
            if _stage2 is None:
                log.warning("stage 2 of the screener is off: %s; borderline posts keep stage 1's decision", unavailable_reason())
        except Exception:
            log.exception("stage 2 of the screener is unavailable; borderline posts keep stage 1's decision")
            _stage2 = None
    return _stage2


def _surging() -> bool:
    from rostra.accounts import surge

    return surge.is_active()


_screenings = Prepared(
    "a post's screening decisions", lambda post_id: Decision.objects.filter(post_id=post_id).order_by("created_at", "id").values_list("pk", "source", "borderline")
)


def deep_screen(post_id: int) -> Decision | None:
    """Re-score what stage 1 found borderline, then apply the policy again (first in the post.created pipeline).

    Runs before fan-out, so a post stage 2 holds is never distributed. Only a post still in the
    state the screener gave it is changed: a moderator's decision always wins.
    """
    # Every post.created event asks this first, and most posts were not borderline: one prepared
    # query of the post's decisions answers it (the ORM took ~1.6 ms to build the two it replaces).
    screened = _screenings.rows(post_id=post_id)
    if any(source == Decision.Source.DEEP for _, source, _ in screened):
        return None
    first_id = next((pk for pk, source, borderline in screened if source in (Decision.Source.CREATE, Decision.Source.REMOTE)), None)
    if first_id is None or not next(borderline for pk, _, borderline in screened if pk == first_id):
        return None
    first = Decision.objects.get(pk=first_id)
    stage2 = get_stage2()
    if stage2 is None:
        return None
    post = Post.objects.select_related("author").filter(pk=post_id).first()
    if post is None:
        return None
    version, policy = _policy()
    screener = gate.get_screener()
    content = f"{post.spoiler_text}\n{post.text}" if post.spoiler_text else post.text
    result = screener.screen(content, remember=False)
    [deep] = screener.deepen([result], stage2)
    verdict = policy.decide(
        deep.scores, matched_rules=deep.matched_rules, new_account=gate.is_new_account(post.author.created_at, policy),
        account_on_hold=first.rule == "account_hold",
        surge=first.rule.endswith("@surge") or _surging(),  # surge mode: stage 2 keeps the tighter thresholds
    )
    if first.rule in ("spam_wave", "account_hold") or first.rule.startswith("rule:"):
        return None  # not a score decision: stage 2 has nothing to add
    decision = gate.decision_from(deep, verdict, version)
    with transaction.atomic():
        post = Post.objects.select_for_update().get(pk=post_id)
        if ModAction.objects.filter(post_id=post_id, automated=False).exists() or post.moderation_state == ModerationState.REMOVED:
            return None
        row = gate.store(decision, post_id=post_id, account_id=post.author_id, source=Decision.Source.DEEP)
        if decision.action == first.action and decision.label == post.moderation_label:
            return row
        before = post.moderation_state
        post.moderation_state = decision.state
        post.moderation_label = decision.label
        if decision.label:
            post.sensitive = True
        post.save(update_fields=["moderation_state", "moderation_label", "sensitive"])
        audit.record(
            None, "post.rescreened", target_type="post", target_id=post_id, account_id=post.author_id, reason=decision.reason,
            detail={"decision_id": row.pk, "before": first.action, "after": decision.action, "model_version": decision.model_version},
            policy_version=version,
        )
        # What stage 1 did automatically and stage 2 now undoes: close its case, reverse its action.
        if first.action == "hold" and decision.action != "hold":
            for case in Case.objects.filter(post_id=post_id, status=Case.Status.OPEN, reports_count=0):
                if case.sources == ["screener"]:
                    Case.objects.filter(pk=case.pk).update(status=Case.Status.CLOSED, closed_at=now(), resolution="cleared_by_deep_screen")
        ModAction.objects.filter(post_id=post_id, automated=True, reversed_at__isnull=True).exclude(kind=decision.action).update(reversed_at=now())
        gate.consequences(decision, row, post_id=post_id, account_id=post.author_id, excerpt=post.text)
        if STRICTNESS[decision.action] != STRICTNESS[first.action]:
            events.emit("post.moderated", post_id=post_id, before=str(before), after=str(post.moderation_state))
    return row


def on_post_moderated(post_id: int, before: str, after: str) -> None:
    """After commit: keep home timelines in step with a post's moderation state."""
    from rostra.timelines import actions as timelines

    visible = (ModerationState.PUBLISHED, ModerationState.LIMITED)
    if after not in visible:
        timelines.remove_post_from_homes(post_id)  # and its reposts, from whichever store holds them
    elif before not in visible:
        timelines.fan_out_post(post_id)
