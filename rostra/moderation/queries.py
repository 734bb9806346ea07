"""Permission-checked reads for the moderators' tools: the queue, a case, an account's history,
appeals and the audit log; and the moderators' decisions as training data for the screener.

Moderators see posts whatever their state (held, removed, limited), so these reads query ``Post``
directly instead of going through the member door (``posts.queries.visible_posts``). Every
function that takes a ``user`` first checks ``policies.is_moderator``; anyone else gets
``NotFound``, exactly as if the tools did not exist.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, Q, QuerySet

from rostra.accounts.models import Account, User
from rostra.core.clock import now
from rostra.core.errors import NotFound
from rostra.core.ids import parse_id
from rostra.core.pagination import Page, PageRequest, paginate
from rostra.moderation import policies
from rostra.moderation.models import (
    CATEGORY_CHOICES,
    Appeal,
    AppealMessage,
    AuditEntry,
    Case,
    Decision,
    Jury,
    JurySeat,
    ModAction,
    Report,
)
from rostra.posts.models import Post

CATEGORY_LABELS = dict(CATEGORY_CHOICES)
QUEUE_LIMIT = 50
THREAD_LIMIT = 200
RECENT_POSTS = 10
HISTORY_LIMIT = 50
WAITING_LIMIT = 200
CLAIM_FILTERS = ("", "mine", "unclaimed")
SOURCE_LABELS = {
    "screener": "Screener",
    "deep_screen": "Deep screen",
    "report": "Report",
    "spam_wave": "Spam wave",
    "account_hold": "Account on hold",
    "appeal": "Appeal",
}
POST_ACTIONS_FOR_TRAINING = (ModAction.Kind.REMOVE, ModAction.Kind.LIMIT, ModAction.Kind.LABEL)
CLEARING_RESOLUTIONS = ("dismissed", ModAction.Kind.RESTORE)


def _require(user: Any) -> None:
    if not policies.is_moderator(user):
        raise NotFound("No such page.")


def _id(raw: Any) -> int:
    pid = parse_id(raw)
    if pid is None:
        raise NotFound("Not found.")
    return pid


def excerpt(post: Post | None, length: int = 200) -> str:
    if post is None:
        return ""
    text = (f"[{post.spoiler_text}] " if post.spoiler_text else "") + " ".join(post.text.split())
    return text if len(text) <= length else text[: length - 1] + "…"


# ---- the queue -------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilter:
    """What the moderator narrowed the queue to; carried from the queue to each case and back."""

    category: str = ""
    claimed: str = ""  # "", "mine" or "unclaimed"

    @classmethod
    def from_params(cls, params: Any) -> QueueFilter:
        category = str(params.get("category") or "")
        claimed = str(params.get("claimed") or "")
        return cls(
            category=category if category in CATEGORY_LABELS else "",
            claimed=claimed if claimed in CLAIM_FILTERS else "",
        )

    @property
    def query(self) -> str:
        """As a query string ("" when nothing is filtered), for links that keep the filter."""
        params = {k: v for k, v in (("category", self.category), ("claimed", self.claimed)) if v}
        return urlencode(params)


def _claimed_by_other(user: User, when: datetime) -> Q:
    return Q(claimed_by__isnull=False, claimed_until__gt=when) & ~Q(claimed_by_id=user.pk)


def _open_cases(user: User, flt: QueueFilter) -> QuerySet[Case]:
    when = now()
    qs = Case.objects.filter(status=Case.Status.OPEN)
    if flt.category:
        qs = qs.filter(category=flt.category)
    if flt.claimed == "mine":
        qs = qs.filter(claimed_by_id=user.pk, claimed_until__gt=when)
    elif flt.claimed == "unclaimed":
        qs = qs.filter(Q(claimed_by__isnull=True) | Q(claimed_until__isnull=True) | Q(claimed_until__lte=when))
    return qs


@dataclass
class QueueRow:
    case: Case
    excerpt: str
    claimed_by: str  # "@name" while a claim is live, "" otherwise
    claimed_by_me: bool

    @property
    def category_label(self) -> str:
        return CATEGORY_LABELS.get(self.case.category, self.case.category)

    @property
    def sources(self) -> list[str]:
        return source_labels(self.case)


def source_labels(case: Case) -> list[str]:
    return [SOURCE_LABELS.get(str(s), str(s)) for s in (case.sources or [])]


@dataclass
class QueuePage:
    rows: list[QueueRow]
    next_cursor: str  # pass as ``after`` for the next page; "" on the last page
    total_open: int


def _cursor(case: Case) -> str:
    return f"{case.priority!r}_{case.pk}"


def _parse_cursor(raw: str) -> tuple[float, int] | None:
    head, _, tail = (raw or "").partition("_")
    pid = parse_id(tail)
    try:
        priority = float(head)
    except ValueError:
        return None
    if pid is None or not math.isfinite(priority):  # NaN and infinity never order
        return None
    return priority, pid


def _after(qs: QuerySet[Case], priority: float, case_id: int) -> QuerySet[Case]:
    """Cases that come after (priority, id) in the queue's order: highest priority first, then newest."""
    return qs.filter(Q(priority__lt=priority) | Q(priority=priority, id__lt=case_id))


def _row(case: Case, user: User, when: datetime) -> QueueRow:
    live = case.claimed_by_id is not None and case.claimed_until is not None and case.claimed_until > when
    return QueueRow(
        case=case,
        excerpt=excerpt(case.post) if case.post_id else "(a report about the account)",
        claimed_by=f"@{case.claimed_by.username}" if live and case.claimed_by else "",
        claimed_by_me=live and case.claimed_by_id == user.pk,
    )


def queue(user: User, flt: QueueFilter | None = None, *, after: str = "", limit: int = QUEUE_LIMIT) -> QueuePage:
    """Open cases, highest priority (severity x reach x score) first; keyset pages of ``limit``."""
    _require(user)
    flt = flt or QueueFilter()
    qs = _open_cases(user, flt)
    total = qs.count()
    cursor = _parse_cursor(after)
    if cursor is not None:
        qs = _after(qs, *cursor)
    cases = list(qs.select_related("account", "post", "claimed_by").order_by("-priority", "-id")[: limit + 1])
    when = now()
    rows = [_row(c, user, when) for c in cases[:limit]]
    return QueuePage(rows=rows, next_cursor=_cursor(cases[limit - 1]) if len(cases) > limit else "", total_open=total)


def next_case_id(user: User, case: Case, flt: QueueFilter | None = None, *, backwards: bool = False) -> int | None:
    """The case after (or before) ``case`` in the queue that the moderator can work on: open and not
    claimed by someone else. Going forward wraps to the top of the queue, so nothing is skipped."""
    _require(user)
    flt = flt or QueueFilter()
    qs = _open_cases(user, flt).exclude(pk=case.pk).exclude(_claimed_by_other(user, now()))
    if backwards:
        before = qs.filter(Q(priority__gt=case.priority) | Q(priority=case.priority, id__gt=case.pk))
        return before.order_by("priority", "id").values_list("pk", flat=True).first()
    found = _after(qs, case.priority, case.pk).order_by("-priority", "-id").values_list("pk", flat=True).first()
    if found is None:
        found = qs.order_by("-priority", "-id").values_list("pk", flat=True).first()
    return found


# ---- one case --------------------------------------------------------------------------------


@dataclass
class ThreadPost:
    post: Post
    is_case_post: bool
    hidden: bool  # held or removed: members other than the author do not see it


@dataclass
class DecisionRow:
    decision: Decision
    scores: list[tuple[str, float]]  # highest first

    @property
    def top_category(self) -> str:
        return self.scores[0][0] if self.scores else ""


@dataclass
class ReportRow:
    report: Report
    evidence: list[Post]


@dataclass
class ActionRow:
    action: ModAction
    appeal: Appeal | None

    @property
    def outcome(self) -> str:
        if self.appeal is not None:
            return f"Appeal: {self.appeal.get_status_display().lower()}"
        if self.action.reversed_at is not None:
            return "Reversed"
        return ""


@dataclass
class AccountHistory:
    account: Account
    role: str
    age_days: int
    recent_posts: list[Post]
    actions: list[ActionRow]
    reports_received: int
    open_cases: list[Case]
    status: list[str] = field(default_factory=list)  # "suspended until …", "posts held until …"


@dataclass
class CaseView:
    case: Case
    post: Post | None
    thread: list[ThreadPost]
    history: AccountHistory
    decisions: list[DecisionRow]
    reports: list[ReportRow]
    claimed_by: str  # "@name" while a claim is live
    claimed_by_me: bool
    claimed_by_other: bool
    closed_by: str

    @property
    def category_label(self) -> str:
        return CATEGORY_LABELS.get(self.case.category, self.case.category)

    @property
    def sources(self) -> list[str]:
        return source_labels(self.case)


def _status(account: Account, when: datetime) -> list[str]:
    out = []
    if account.suspended_at is not None:
        out.append(f"Suspended until {account.suspended_until:%d %b %Y %H:%M} UTC" if account.suspended_until else "Suspended for good")
    if account.hold_posts_until is not None and account.hold_posts_until > when:
        if account.hold_posts_until - when > timedelta(days=3650):
            out.append("New posts held for review until a moderator lifts it")
        else:
            out.append(f"New posts held for review until {account.hold_posts_until:%d %b %Y %H:%M} UTC")
    return out


def _history(account: Account) -> AccountHistory:
    when = now()
    actions = list(
        ModAction.objects.filter(account=account).select_related("moderator", "post").order_by("-created_at")[:HISTORY_LIMIT]
    )
    appeals = {a.action_id: a for a in Appeal.objects.filter(action_id__in=[a.pk for a in actions])}
    role = ""
    if account.user_id:
        role = User.objects.filter(pk=account.user_id).values_list("role", flat=True).first() or ""
    return AccountHistory(
        account=account,
        role=role,
        age_days=max(0, (when - account.created_at).days),
        recent_posts=list(Post.objects.filter(author=account, repost_of__isnull=True).order_by("-id")[:RECENT_POSTS]),
        actions=[ActionRow(a, appeals.get(a.pk)) for a in actions],
        reports_received=Report.objects.filter(account=account).count(),
        open_cases=list(Case.objects.filter(account=account, status=Case.Status.OPEN).select_related("post").order_by("-priority")),
        status=_status(account, when),
    )


def account_history(user: User, account_id: Any) -> AccountHistory:
    """Everything a moderator weighs about an account: age, reach, recent posts (in any state),
    earlier actions against it with their appeals, reports and open cases."""
    _require(user)
    account = Account.objects.filter(pk=_id(account_id)).first()
    if account is None:
        raise NotFound("No such account.")
    return _history(account)


def _thread(post: Post) -> list[ThreadPost]:
    root = post.thread_id or post.pk
    posts = list(
        Post.objects.filter(Q(thread_id=root) | Q(pk=root), repost_of__isnull=True)
        .select_related("author", "in_reply_to_account")
        .order_by("id")[:THREAD_LIMIT]
    )
    if not any(p.pk == post.pk for p in posts):
        posts.append(post)
    hidden = ("held", "removed")
    return [ThreadPost(p, p.pk == post.pk, p.moderation_state in hidden or p.author.suspended_at is not None) for p in posts]


def case_detail(user: User, case_id: Any) -> CaseView:
    _require(user)
    case = Case.objects.select_related("account", "post", "post__author", "claimed_by", "closed_by").filter(pk=_id(case_id)).first()
    if case is None:
        raise NotFound("No such case.")
    when = now()
    live = case.status == Case.Status.OPEN and case.claimed_by_id is not None and case.claimed_until is not None and case.claimed_until > when
    post = case.post
    decisions = []
    if post is not None:
        for d in Decision.objects.filter(post=post).order_by("created_at"):
            scores = sorted(((str(k), float(v)) for k, v in (d.scores or {}).items()), key=lambda kv: -kv[1])
            decisions.append(DecisionRow(d, scores))
    reports = list(Report.objects.filter(case=case).select_related("reporter").order_by("created_at"))
    wanted = {i for r in reports for i in r.evidence_post_ids}
    evidence = {p.pk: p for p in Post.objects.filter(pk__in=wanted).select_related("author")} if wanted else {}
    return CaseView(
        case=case,
        post=post,
        thread=_thread(post) if post is not None else [],
        history=_history(case.account),
        decisions=decisions,
        reports=[ReportRow(r, [evidence[i] for i in r.evidence_post_ids if i in evidence]) for r in reports],
        claimed_by=f"@{case.claimed_by.username}" if live and case.claimed_by else "",
        claimed_by_me=live and case.claimed_by_id == user.pk,
        claimed_by_other=live and case.claimed_by_id != user.pk,
        closed_by=f"@{case.closed_by.username}" if case.closed_by else ("the system" if case.status == Case.Status.CLOSED else ""),
    )


def get_case(user: User, case_id: Any) -> Case:
    _require(user)
    case = Case.objects.filter(pk=_id(case_id)).first()
    if case is None:
        raise NotFound("No such case.")
    return case


# ---- appeals ---------------------------------------------------------------------------------

APPEAL_TABS = {
    "open": (Appeal.Status.OPEN,),
    "jury": (Appeal.Status.JURY,),
    "decided": (Appeal.Status.REVERSED, Appeal.Status.UPHELD),
}


@dataclass
class AppealRow:
    appeal: Appeal
    can_decide: bool


def appeals(user: User, tab: str = "open", *, req: PageRequest | None = None) -> Page[AppealRow]:
    """Appeals in one state: the longest-waiting first while undecided, the newest first once decided."""
    _require(user)
    statuses = APPEAL_TABS.get(tab, APPEAL_TABS["open"])
    qs = Appeal.objects.filter(status__in=statuses).select_related("account", "action", "action__moderator", "decided_by")
    if tab == "decided":
        page = paginate(qs, req or PageRequest(limit=40))
    else:  # the waiting list is short by design: every appeal on it is someone waiting for an answer
        page = Page(list(qs.order_by("created_at", "id")[:WAITING_LIMIT]), None, None)
    return Page([AppealRow(a, policies.can_decide_appeal(user, a)) for a in page.items], page.next_max_id, page.prev_min_id)


@dataclass
class JuryProgress:
    jury: Jury
    votes_cast: int
    recused: int
    votes: list[JurySeat]  # only once the jury has decided: how each seat voted, and why

    @property
    def is_open(self) -> bool:
        return self.jury.status == Jury.Status.OPEN


@dataclass
class AppealView:
    appeal: Appeal
    action: ModAction
    messages: list[AppealMessage]
    jury: JuryProgress | None
    can_decide: bool
    acted_by_me: bool
    history: AccountHistory


def appeal_detail(user: User, appeal_id: Any) -> AppealView:
    _require(user)
    ap = (
        Appeal.objects.select_related("account", "action", "action__moderator", "action__post", "decided_by")
        .filter(pk=_id(appeal_id))
        .first()
    )
    if ap is None:
        raise NotFound("No such appeal.")
    progress = None
    jury = Jury.objects.filter(appeal=ap).first()
    if jury is not None:
        counts = {row["status"]: row["n"] for row in JurySeat.objects.filter(jury=jury).values("status").annotate(n=Count("id"))}
        # Individual votes stay secret while the jury deliberates, so no one can lean on it.
        votes = list(JurySeat.objects.filter(jury=jury, status=JurySeat.Status.VOTED).order_by("voted_at")) if jury.status == Jury.Status.DECIDED else []
        progress = JuryProgress(jury, counts.get(JurySeat.Status.VOTED, 0), counts.get(JurySeat.Status.RECUSED, 0), votes)
    return AppealView(
        appeal=ap,
        action=ap.action,
        messages=list(AppealMessage.objects.filter(appeal=ap).select_related("author").order_by("created_at")),
        jury=progress,
        can_decide=policies.can_decide_appeal(user, ap),
        acted_by_me=ap.action.moderator_id is not None and ap.action.moderator_id == user.pk,
        history=_history(ap.account),
    )


# ---- the audit log ---------------------------------------------------------------------------


def audit_log(user: User, *, account_id: Any = None, verb: str = "", req: PageRequest | None = None) -> Page[AuditEntry]:
    """Newest first. ``verb`` matches exactly, or as a prefix when it ends with a dot ("post.")."""
    _require(user)
    qs = AuditEntry.objects.all()
    if account_id not in (None, ""):
        aid = parse_id(account_id)
        qs = qs.filter(account_id=aid) if aid is not None else qs.none()
    verb = (verb or "").strip()
    if verb:
        qs = qs.filter(verb__startswith=verb) if verb.endswith(".") else qs.filter(verb=verb)
    return paginate(qs, req or PageRequest(limit=40))


# ---- training data ---------------------------------------------------------------------------


def _content(post: Post) -> str:
    # The text exactly as the gate screens it.
    return f"{post.spoiler_text}\n{post.text}" if post.spoiler_text else post.text


def _training_rows() -> Iterator[tuple[int, str, str, int]]:
    cases = (
        Case.objects.filter(status=Case.Status.CLOSED, post__isnull=False, closed_by__isnull=False)
        .select_related("post")
        .order_by("closed_at", "id")
    )
    for case in cases.iterator(chunk_size=500):
        post = case.post
        if post is None:  # deleted by its author: nothing to learn from
            continue
        if case.resolution in CLEARING_RESOLUTIONS:
            yield post.pk, _content(post), case.category, 0
        elif case.resolution in POST_ACTIONS_FOR_TRAINING:
            action = (
                ModAction.objects.filter(case=case, post=post, kind=case.resolution, automated=False)
                .order_by("-created_at")
                .first()
            )
            category = (action.category if action else "") or case.category
            # An action reversed on appeal taught us the post was fine after all.
            wrong = action is not None and action.reversed_at is not None
            yield post.pk, _content(post), category, 0 if wrong else 1


def training_decisions() -> list[tuple[str, str, int]]:
    """``[(text, category, label)]`` from closed cases that a moderator decided: a post removed,
    limited or labelled for a category is a 1 for that category; a post approved, dismissed or
    restored (or whose removal was reversed on appeal) is a 0 for the case's category. The latest
    decision about a (post, category) wins; deleted posts are left out. For ``rostra moderation train``."""
    latest: dict[tuple[int, str], tuple[str, str, int]] = {}
    for post_id, text, category, label in _training_rows():
        if text.strip():
            latest[(post_id, category)] = (text, category, label)
    return list(latest.values())


def under_review(post_id: int) -> bool:
    """Whether moderators have been asked to look at this post (it has a case, open or closed).
    Moderators see such a post's images whatever its visibility; the caller checks the role."""
    return Case.objects.filter(post_id=post_id).exists()


# ---- the client API's admin endpoints (Mastodon's Admin::Report and Admin::Account) -----------


def admin_reports(
    user: User, *, resolved: bool = False, account_id: Any = None, target_account_id: Any = None, req: PageRequest | None = None
) -> Page[Report]:
    """Reports newest first: open ones, or (``resolved``) those actioned or dismissed; optionally
    only those made by ``account_id`` or against ``target_account_id``."""
    _require(user)
    qs = Report.objects.exclude(status=Report.Status.OPEN) if resolved else Report.objects.filter(status=Report.Status.OPEN)
    for name, raw in (("reporter_id", account_id), ("account_id", target_account_id)):
        if raw not in (None, ""):
            rid = parse_id(raw)
            qs = qs.filter(**{name: rid}) if rid is not None else qs.none()
    qs = qs.select_related("reporter", "reporter__user", "account", "account__user", "case", "case__claimed_by", "case__closed_by")
    return paginate(qs, req or PageRequest(limit=100))


def admin_report(user: User, report_id: Any) -> Report:
    _require(user)
    rep = (
        Report.objects.select_related("reporter", "reporter__user", "account", "account__user", "case", "case__claimed_by", "case__closed_by")
        .filter(pk=_id(report_id))
        .first()
    )
    if rep is None:
        raise NotFound("No such report.")
    return rep


def report_posts(user: User, rep: Report) -> list[Post]:
    """The reported post and the evidence the reporter attached, in any state (moderators see all)."""
    _require(user)
    ids = list(dict.fromkeys([*([rep.post_id] if rep.post_id else []), *rep.evidence_post_ids]))
    found = {p.pk: p for p in Post.objects.filter(pk__in=ids).select_related("author")}
    return [found[i] for i in ids if i in found]


def staff_accounts(users: list[User]) -> dict[int, Account]:
    """The accounts of these staff users, by user id (for "assigned to" and "resolved by")."""
    ids = {u.pk for u in users if u is not None}
    return {a.user_id: a for a in Account.objects.filter(user_id__in=ids)} if ids else {}  # type: ignore[misc]


ADMIN_ACCOUNT_STATUSES = ("active", "pending", "disabled", "silenced", "suspended", "sensitized")


@dataclass(frozen=True)
class AccountFilter:
    """Mastodon's admin account filters (v1 flags and v2 ``origin``/``status``/``permissions``)."""

    origin: str = ""  # "local" or "remote"
    status: str = ""  # one of ADMIN_ACCOUNT_STATUSES
    staff: bool = False
    username: str = ""
    display_name: str = ""
    by_domain: str = ""
    email: str = ""


def admin_accounts(user: User, flt: AccountFilter, req: PageRequest | None = None) -> Page[Account]:
    """Every account (suspended ones too), newest first, narrowed by ``flt``."""
    _require(user)
    when = now()
    qs = Account.objects.select_related("user")
    if flt.origin == "local":
        qs = qs.filter(domain="")
    elif flt.origin == "remote":
        qs = qs.exclude(domain="")
    if flt.status == "active":
        qs = qs.filter(suspended_at__isnull=True).filter(Q(user__isnull=True) | Q(user__is_active=True))
    elif flt.status == "disabled":
        qs = qs.filter(user__is_active=False)
    elif flt.status == "silenced":
        qs = qs.filter(hold_posts_until__gt=when)
    elif flt.status == "suspended":
        qs = qs.filter(suspended_at__isnull=False)
    elif flt.status in ("pending", "sensitized"):
        qs = qs.none()  # Rostra has no sign-up approval and no account-wide sensitive mark
    if flt.staff:
        qs = qs.filter(user__role__in=policies.STAFF_ROLES)
    if flt.username:
        qs = qs.filter(username__istartswith=flt.username.lstrip("@"))
    if flt.display_name:
        qs = qs.filter(display_name__icontains=flt.display_name)
    if flt.by_domain:
        qs = qs.filter(domain__iexact=flt.by_domain)
    if flt.email:
        qs = qs.filter(user__email__icontains=flt.email)
    return paginate(qs, req or PageRequest(limit=100))


def admin_account(user: User, account_id: Any) -> Account:
    """Any account, suspended or not."""
    _require(user)
    account = Account.objects.select_related("user").filter(pk=_id(account_id)).first()
    if account is None:
        raise NotFound("No such account.")
    return account
