"""What a member may read of trust and safety: their notices and appeals, their jury seats, and
the anonymised case a juror decides; plus what the report form offers.

Every function takes the member asking and answers only with what is theirs to see; anything
else is ``NotFound``, exactly as for a missing id. Writes are in ``moderation.actions``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rostra.accounts.models import Account, User
from rostra.accounts.queries import get_account
from rostra.core.clock import now
from rostra.core.errors import NotFound
from rostra.moderation import gate
from rostra.moderation.actions import APPEAL_WINDOW_DAYS
from rostra.moderation.models import CATEGORY_CHOICES, Appeal, Jury, JurySeat, ModAction, Notice, PolicyVersion, Report
from rostra.moderation.notices import WHAT_HAPPENED
from rostra.moderation.notices import _duration as duration_text
from rostra.moderation.policy import Policy, PolicyError, default_policy
from rostra.posts.models import ModerationState, Post, Visibility
from rostra.posts.queries import visible_post, visible_posts

EVIDENCE_CHOICES = 20  # recent posts offered as evidence on the report form
OTHER_HELP = "Something the categories above do not cover: say what in your comment."


# ---- the policy an action was taken under ----------------------------------------------------


def _policy_at(version: int) -> Policy:
    """The policy in force when an action was taken (the one in force now if that one is gone)."""
    current_version, current = gate.active_policy()
    if version == current_version:
        return current
    if version == 0:
        return default_policy()
    document = PolicyVersion.objects.filter(pk=version).values_list("document", flat=True).first()
    if document is None:
        return current
    try:
        return Policy.from_document(document)
    except PolicyError:  # an old document the current code no longer accepts
        return current


def _category_title(policy: Policy, category: str) -> str:
    cp = policy.categories.get(category)
    return cp.title if cp else dict(CATEGORY_CHOICES).get(category, category.replace("_", " ").capitalize())


def _guideline(policy: Policy, category: str) -> str:
    cp = policy.categories.get(category)
    return cp.guideline if cp else ""


# ---- reporting -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportCategory:
    value: str
    title: str
    help: str  # the guideline's first sentence


def _first_sentence(text: str) -> str:
    match = re.match(r"(.+?[.!?])(\s|$)", text.strip(), re.DOTALL)
    return (match.group(1) if match else text.strip())[:240]


def report_categories() -> list[ReportCategory]:
    """The categories a report can name, titled and explained as the policy in force words them."""
    _, policy = gate.active_policy()
    out = []
    for value, label in CATEGORY_CHOICES:
        cp = policy.categories.get(value)
        if cp is None:
            out.append(ReportCategory(value, label, OTHER_HELP if value == "other" else ""))
        else:
            out.append(ReportCategory(value, cp.title, _first_sentence(cp.guideline)))
    return out


@dataclass(frozen=True)
class ReportTarget:
    account: Account
    post: Post | None  # None: the account as a whole is reported
    visible: bool = True  # False: a post held since the reporter saw it; its content is not shown again


def report_target(reporter: Account, *, post_id: int | None = None, account_id: int | None = None) -> ReportTarget:
    """The post (one the reporter can see, or a public post held since) or the account being reported."""
    if post_id is not None:
        post = visible_post(reporter, post_id, "author")
        visible = post is not None
        if post is None:
            # As ``actions.report``: a post held since the reporter saw it can still be reported.
            post = (
                Post.objects.filter(pk=post_id, moderation_state=ModerationState.HELD, visibility__in=(Visibility.PUBLIC, Visibility.UNLISTED))
                .select_related("author")
                .first()
            )
        if post is None or post.repost_of_id is not None:
            raise NotFound("The post you are reporting is not available.")
        return ReportTarget(post.author, post, visible)
    if account_id is None:
        raise NotFound("Say which post or account you are reporting.")
    return ReportTarget(get_account(account_id), None)


def evidence_choices(reporter: Account, target: ReportTarget) -> list[Post]:
    """The reported account's recent posts the reporter can see, to attach as evidence."""
    qs = visible_posts(reporter).filter(author_id=target.account.pk, repost_of__isnull=True)
    if target.post is not None:
        qs = qs.exclude(pk=target.post.pk)
    return list(qs.order_by("-id")[:EVIDENCE_CHOICES])


def own_report(reporter: Account, report_id: int) -> Report:
    report = Report.objects.select_related("account", "post").filter(pk=report_id, reporter=reporter).first()
    if report is None:
        raise NotFound("No such report.")
    return report


# ---- notices and appeals ---------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    post_id: int | None
    excerpt: str
    scores: list[tuple[str, float]]  # (category title, score), highest first, at most three


def _evidence(items: Iterable[dict[str, Any]], policy: Policy, redact: Any = None) -> list[Evidence]:
    out = []
    for item in items:
        raw = item.get("scores") or {}
        top = sorted(((k, float(v)) for k, v in raw.items() if isinstance(v, int | float)), key=lambda kv: -kv[1])[:3]
        excerpt = str(item.get("excerpt") or "")
        out.append(Evidence(
            post_id=item.get("post_id"),
            excerpt=redact(excerpt) if redact else excerpt,
            scores=[(_category_title(policy, k), v) for k, v in top],
        ))
    return out


@dataclass(frozen=True)
class NoticeRow:
    notice: Notice
    action: ModAction
    appeal: Appeal | None

    @property
    def unread(self) -> bool:
        return self.notice.read_at is None


def notices(account: Account) -> list[NoticeRow]:
    """The member's notices, newest first."""
    rows = list(Notice.objects.filter(account=account).select_related("action").order_by("-created_at", "-id")[:200])
    appeals = {a.action_id: a for a in Appeal.objects.filter(action_id__in=[n.action_id for n in rows])}
    return [NoticeRow(n, n.action, appeals.get(n.action_id)) for n in rows]


def unread_notices(account: Account) -> int:
    return Notice.objects.filter(account=account, read_at__isnull=True).count()


def notice_action_for_post(account: Account, post_id: int) -> int | None:
    """The latest notice about one of the member's posts (the id of its action), if any."""
    return (
        Notice.objects.filter(account=account, action__post_id=post_id)
        .order_by("-created_at", "-id")
        .values_list("action_id", flat=True)
        .first()
    )


@dataclass(frozen=True)
class Message:
    from_staff: bool
    who: str
    body: str
    created_at: datetime


@dataclass
class NoticeDetail:
    notice: Notice
    action: ModAction
    what_happened: str
    rule: str
    guideline: str
    evidence: list[Evidence]
    duration: str
    post: Post | None  # the post acted on, if it still exists
    appeal: Appeal | None = None
    messages: list[Message] = field(default_factory=list)
    can_appeal: bool = False
    appeal_window_closed: bool = False

    @property
    def can_message(self) -> bool:
        return self.appeal is not None and self.appeal.status in (Appeal.Status.OPEN, Appeal.Status.JURY)

    @property
    def decided(self) -> bool:
        return self.appeal is not None and self.appeal.status in (Appeal.Status.REVERSED, Appeal.Status.UPHELD)


def _messages(appeal: Appeal, viewer_user_id: int | None) -> list[Message]:
    out = []
    for m in appeal.messages.order_by("created_at", "id"):
        if m.from_staff:
            who = "The moderators"
        elif m.author_id is not None and m.author_id == viewer_user_id:
            who = "You"
        else:
            who = "The person appealing"
        out.append(Message(m.from_staff, who, m.body, m.created_at))
    return out


def notice(account: Account, action_id: int) -> NoticeDetail:
    """One notice, by its action's id, for the person acted against only."""
    row = Notice.objects.select_related("action").filter(action_id=action_id, account=account).first()
    if row is None:
        raise NotFound("No such notice.")
    action = row.action
    policy = _policy_at(action.policy_version)
    appeal = Appeal.objects.filter(action=action).first()
    post = Post.objects.filter(pk=action.post_id, author=account).select_related("author").first() if action.post_id else None
    window_closed = now() - action.created_at > timedelta(days=APPEAL_WINDOW_DAYS)
    return NoticeDetail(
        notice=row,
        action=action,
        what_happened=WHAT_HAPPENED.get(action.kind, ""),
        rule=action.rule or "The community guidelines",
        guideline=_guideline(policy, action.category),
        evidence=_evidence(action.evidence, policy),
        duration=duration_text(action.ends_at, action.kind),
        post=post,
        appeal=appeal,
        messages=_messages(appeal, account.user_id) if appeal else [],
        can_appeal=action.is_appealable and appeal is None and not window_closed,
        appeal_window_closed=action.is_appealable and appeal is None and window_closed,
    )


# ---- the community jury ----------------------------------------------------------------------


def _finished(jury: Jury) -> bool:
    return jury.status != Jury.Status.OPEN or jury.deadline <= now()


@dataclass(frozen=True)
class SeatRow:
    seat: JurySeat
    jury: Jury
    what: str  # what was done, without names: "Removed the post"
    rule: str

    @property
    def finished(self) -> bool:
        return _finished(self.jury)


def jury_seats(account: Account) -> list[SeatRow]:
    """The member's jury seats, newest first."""
    seats = JurySeat.objects.filter(account=account).select_related("jury__appeal__action").order_by("-jury__created_at", "-id")[:100]
    out = []
    for s in seats:
        action = s.jury.appeal.action
        out.append(SeatRow(s, s.jury, action.get_kind_display(), action.rule or "The community guidelines"))
    return out


@dataclass(frozen=True)
class JurorReason:
    vote: str  # "reverse" or "uphold"
    reason: str


@dataclass
class JuryCase:
    """An appeal as a juror sees it: what was done and why, and the person's words, without names."""

    jury: Jury
    seat: JurySeat
    what: str
    rule: str
    guideline: str
    reason: str
    statement: str
    evidence: list[Evidence]
    reasons: list[JurorReason] = field(default_factory=list)  # all jurors' reasons, once the jury has finished

    @property
    def finished(self) -> bool:
        return _finished(self.jury)

    @property
    def can_vote(self) -> bool:
        return not self.finished and self.seat.status == JurySeat.Status.INVITED

    @property
    def votes(self) -> dict[str, int]:
        return {"reverse": sum(r.vote == "reverse" for r in self.reasons), "uphold": sum(r.vote == "uphold" for r in self.reasons)}


def _redactor(names: dict[str, str]) -> Any:
    """Replace the parties' usernames and display names (as @name, @name@domain or a word) in free text."""
    words = sorted((n for n in names if len(n) >= 3), key=len, reverse=True)
    if not words:
        return lambda text: text
    pattern = re.compile(r"@?\b(" + "|".join(re.escape(w) for w in words) + r")\b(@[\w.-]+)?", re.IGNORECASE)
    lowered = {k.lower(): v for k, v in names.items()}
    return lambda text: pattern.sub(lambda m: lowered.get(m.group(1).lower(), "[someone]"), text)


def _party_names(appeal: Appeal, action: ModAction) -> dict[str, str]:
    names: dict[str, str] = {}
    person = Account.objects.filter(pk=appeal.account_id).values_list("username", "display_name").first()
    if person:
        names.update({person[0]: "[the person]", **({person[1]: "[the person]"} if person[1] else {})})
    if action.moderator_id:
        mod = User.objects.filter(pk=action.moderator_id).values_list("username", flat=True).first()
        mod_account = Account.objects.filter(user_id=action.moderator_id).values_list("username", "display_name").first()
        if mod:
            names[mod] = "[the moderator]"
        if mod_account:
            names.update({mod_account[0]: "[the moderator]", **({mod_account[1]: "[the moderator]"} if mod_account[1] else {})})
    return names


def jury_case(account: Account, jury_id: int) -> JuryCase:
    """The case, for a member seated on its jury only (a recused seat still counts)."""
    seat = JurySeat.objects.select_related("jury__appeal__action").filter(jury_id=jury_id, account=account).first()
    if seat is None:
        raise NotFound("No such jury.")
    jury = seat.jury
    appeal = jury.appeal
    action = appeal.action
    policy = _policy_at(action.policy_version)
    redact = _redactor(_party_names(appeal, action))
    case = JuryCase(
        jury=jury,
        seat=seat,
        what=action.get_kind_display(),
        rule=action.rule or "The community guidelines",
        guideline=_guideline(policy, action.category),
        reason=redact(action.reason),
        statement=redact(appeal.statement),
        evidence=_evidence(action.evidence, policy, redact),
    )
    if case.finished:
        voted = JurySeat.objects.filter(jury=jury, status=JurySeat.Status.VOTED).order_by("voted_at", "id")
        case.reasons = [JurorReason(s.vote, redact(s.reason)) for s in voted]
    return case
