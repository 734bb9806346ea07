"""Surge mode: when many people arrive at once, sign-ups queue and new accounts get closer attention.

The state (docs/operations.md, "Surge mode") is one row, ``SurgeState``:

* ``off``: sign-ups as configured (``ROSTRA_REGISTRATIONS``);
* ``on``: an admin switched it on;
* ``auto``: on while sign-ups over the last ``WINDOW`` (10 minutes) average more than
  ``ROSTRA_SURGE_SIGNUPS_PER_MIN`` a minute, off again once the rate has stayed at or below it
  for ``COOL_DOWN`` (30 minutes). ``evaluate_auto`` decides; sign-ups call ``note_signup`` (at
  most one evaluation per process every ``EVALUATE_EVERY_S``) and a worker task runs it every
  minute so auto mode also turns off when nobody signs up.

Reading the state costs nothing per request: ``status()`` is memoised in the process for
``LOCAL_TTL_S`` and in the cache (Redis when configured) for ``CACHE_TTL_S``; a switch clears both
here and the cache for every process.

During a surge:

* sign-up joins the waitlist (``join_waitlist``): the person gets a link (``/signup/waitlist/<token>``)
  that shows their position, and becomes the sign-up form once an admin has admitted them
  (``admit``). The token is the entry's id and an HMAC of it under the secret key, so it can be
  mailed again at admission without storing a secret. Invite links (``create_invite``) skip the
  waitlist, for ``max_uses`` sign-ups until they expire;
* accounts younger than ``NEW_ACCOUNT_DAYS`` meet lower per-account limits for posting, following
  and uploads (``check_new_account``: the ``surge_post``, ``surge_follow`` and ``surge_media`` rules
  of ``rostra.core.ratelimit``), and the screening policy's new-account thresholds are tightened
  (``rostra.moderation.policy.SURGE_TIGHTEN``);
* optional federation fetches are shed (``shed_optional_fetches``; rostra.federation).

Every switch, message change, admission and invite is in the moderation audit log.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, Q

from rostra.accounts.models import Account, Invite, SurgeState, User, WaitlistEntry
from rostra.core import events, ratelimit
from rostra.core.clock import now
from rostra.core.errors import Conflict, NotFound, PermissionDenied, RateLimited, ValidationError
from rostra.moderation import audit

log = logging.getLogger(__name__)

MODES = ("off", "on", "auto")
WINDOW = timedelta(minutes=10)
COOL_DOWN = timedelta(minutes=30)
NEW_ACCOUNT_DAYS = 7
MAX_MESSAGE = 500
MAX_ADMIT = 100_000
MAX_INVITE_USES = 10_000
MAX_INVITE_DAYS = 365
LOCAL_TTL_S = 2.0
CACHE_TTL_S = 10
CACHE_KEY = "rostra:surge:v1"
EVALUATE_EVERY_S = 10.0
DEFAULT_MESSAGE = (
    "Many people are joining {instance} at once, so new sign-ups are queued on a waitlist and new accounts' "
    "posts are checked more closely. Everyone already here is unaffected."
)
RULE_FOR = {"post": "surge_post", "follow": "surge_follow", "media": "surge_media"}


@dataclass(frozen=True)
class Status:
    mode: str  # off | on | auto
    active: bool  # sign-ups are queued now
    auto_active: bool
    custom_message: str  # what the admin wrote ("" for the default)
    changed_at: datetime | None

    @property
    def message(self) -> str:
        return self.custom_message or DEFAULT_MESSAGE.format(instance=settings.ROSTRA.instance_name)


_local: tuple[float, Status] | None = None
_local_lock = threading.Lock()
_last_evaluated = 0.0


def _cache_key() -> str:
    return str(getattr(settings, "SURGE_CACHE_KEY", CACHE_KEY))  # the test settings give each process its own


def _row() -> SurgeState:
    row, _ = SurgeState.objects.get_or_create(pk=1)
    return row


def _status_of(row: SurgeState) -> Status:
    active = row.mode == SurgeState.Mode.ON or (row.mode == SurgeState.Mode.AUTO and row.auto_active)
    return Status(row.mode, active, row.auto_active, row.message, row.changed_at)


def _load() -> Status:
    try:
        cached = cache.get(_cache_key())
    except Exception as exc:  # noqa: BLE001 - a cache outage must not break every page
        log.warning("surge: cache unavailable (%s); reading the database", exc)
        cached = None
    if isinstance(cached, dict):
        return Status(
            str(cached["mode"]),
            bool(cached["active"]),
            bool(cached["auto_active"]),
            str(cached["custom_message"]),
            cached["changed_at"],
        )
    row = SurgeState.objects.filter(pk=1).first()
    status = _status_of(row) if row is not None else Status("off", False, False, "", None)
    try:
        cache.set(_cache_key(), dataclasses.asdict(status), CACHE_TTL_S)
    except Exception as exc:  # noqa: BLE001
        log.warning("surge: cache unavailable (%s)", exc)
    return status


def status() -> Status:
    """The state in force (memoised: see the module's docstring)."""
    global _local
    found = _local
    at = time.monotonic()
    if found is not None and at - found[0] < LOCAL_TTL_S:
        return found[1]
    with _local_lock:
        current = _load()
        _local = (at, current)
    return current


def is_active() -> bool:
    return status().active


def forget_cached() -> None:
    """Drop the memoised state here and in the shared cache (after every change; tests)."""
    global _local
    _local = None
    try:
        cache.delete(_cache_key())
    except Exception as exc:  # noqa: BLE001
        log.warning("surge: cache unavailable (%s)", exc)


def _forget_now_and_on_commit() -> None:
    # Now (this process reads its own write at once) and after commit (no other process caches
    # the old state between the two).
    forget_cached()
    transaction.on_commit(forget_cached)


def _require_admin(actor: User | None) -> None:
    if actor is not None and not actor.is_staff:
        raise PermissionDenied("Only admins can change surge mode.")


# --- Switching ----------------------------------------------------------------------------------


def set_mode(actor: User | None, mode: str, *, reason: str = "") -> Status:
    """Switch surge mode (``actor`` None: the command line). Audited."""
    _require_admin(actor)
    mode = (mode or "").strip().lower()
    if mode not in MODES:
        raise ValidationError(f"Surge mode is one of {', '.join(MODES)}, not {mode!r}.", field="mode")
    with transaction.atomic():
        row = SurgeState.objects.select_for_update().filter(pk=1).first() or _row()
        before = _status_of(row)
        row.mode = mode
        if mode != SurgeState.Mode.AUTO:
            row.auto_active = False
            row.below_since = None
        row.changed_at = now()
        row.save()
        after = _status_of(row)
        audit.record(
            actor,
            "surge.mode",
            reason=reason[:500],
            detail={"from": before.mode, "to": mode, "active_before": before.active, "active": after.active},
        )
        _forget_now_and_on_commit()
    if mode == SurgeState.Mode.AUTO:
        evaluate_auto()
    return status_now()


def status_now() -> Status:
    """The state straight from the database (admin pages, the CLI)."""
    return _status_of(_row())


def set_message(actor: User | None, message: str) -> Status:
    """The banner's words ("" restores the default). Audited."""
    _require_admin(actor)
    message = (message or "").strip()
    if len(message) > MAX_MESSAGE:
        raise ValidationError(f"The surge message is at most {MAX_MESSAGE} characters.", field="message")
    with transaction.atomic():
        row = SurgeState.objects.select_for_update().filter(pk=1).first() or _row()
        row.message = message
        row.save(update_fields=["message"])
        audit.record(actor, "surge.message", detail={"message": message})
        _forget_now_and_on_commit()
    return _status_of(row)


def signup_rate(at: datetime | None = None) -> float:
    """Sign-ups per minute over the last ``WINDOW``."""
    at = at or now()
    count = User.objects.filter(created_at__gt=at - WINDOW).count()
    return count / (WINDOW.total_seconds() / 60)


def evaluate_auto(at: datetime | None = None) -> Status:
    """In auto mode: turn the surge on above the threshold, off after ``COOL_DOWN`` below it."""
    global _last_evaluated
    _last_evaluated = time.monotonic()
    at = at or now()
    row = SurgeState.objects.filter(pk=1).first()
    if row is None or row.mode != SurgeState.Mode.AUTO:
        return _status_of(row) if row is not None else Status("off", False, False, "", None)
    rate = signup_rate(at)
    threshold = settings.ROSTRA.surge_signups_per_min
    with transaction.atomic():
        row = SurgeState.objects.select_for_update().get(pk=1)
        if row.mode != SurgeState.Mode.AUTO:
            return _status_of(row)
        changed = False
        if rate > threshold:
            if not row.auto_active:
                row.auto_active, changed = True, True
                audit.record(
                    None,
                    "surge.auto_on",
                    reason=f"{rate:.1f} sign-ups a minute over the last 10 minutes, above {threshold}.",
                    detail={"rate": round(rate, 2), "threshold": threshold},
                )
            if row.below_since is not None:
                row.below_since, changed = None, True
        elif row.auto_active:
            if row.below_since is None:
                row.below_since, changed = at, True
            elif at - row.below_since >= COOL_DOWN:
                row.auto_active, row.below_since, changed = False, None, True
                audit.record(
                    None,
                    "surge.auto_off",
                    reason=f"Sign-ups stayed at or below {threshold} a minute for 30 minutes.",
                    detail={"rate": round(rate, 2), "threshold": threshold},
                )
        if changed:
            row.changed_at = at
            row.save()
            _forget_now_and_on_commit()
    return _status_of(row)


def note_signup() -> None:
    """After a sign-up: re-check auto mode (at most once per process every ``EVALUATE_EVERY_S``)."""
    if status().mode != SurgeState.Mode.AUTO or time.monotonic() - _last_evaluated < EVALUATE_EVERY_S:
        return
    try:
        evaluate_auto()
    except Exception:
        log.exception("surge: evaluating auto mode failed")


# --- The waitlist -------------------------------------------------------------------------------


def _digest(entry_id: int) -> str:
    key = f"rostra.accounts.surge.waitlist:{settings.SECRET_KEY}".encode()
    return hmac.new(key, str(entry_id).encode(), hashlib.sha256).hexdigest()[:32]


def token_for(entry: WaitlistEntry) -> str:
    return f"{entry.pk}-{_digest(entry.pk)}"


def link_for(entry: WaitlistEntry) -> str:
    return f"{settings.ROSTRA.base_url}/signup/waitlist/{token_for(entry)}"


def entry_for_token(token: str) -> WaitlistEntry:
    """The entry a waitlist link is for; ``NotFound`` for a malformed, forged or used link."""
    head, _, mac = (token or "").partition("-")
    if not head.isdigit() or len(head) > 20 or not hmac.compare_digest(mac.encode(), _digest(int(head)).encode()):
        raise NotFound("This waitlist link is not valid.")
    entry = WaitlistEntry.objects.filter(pk=int(head)).first()
    if entry is None or entry.used_at is not None:
        raise NotFound("This waitlist link is not valid, or its account was already created.")
    return entry


def position(entry: WaitlistEntry) -> int | None:
    """1 for the next person to be admitted; None once admitted."""
    if entry.admitted_at is not None:
        return None
    return WaitlistEntry.objects.filter(admitted_at__isnull=True, id__lte=entry.pk).count()


def waiting_count() -> int:
    return WaitlistEntry.objects.filter(admitted_at__isnull=True).count()


def _clean_email(email: str) -> str:
    email = (email or "").strip()
    try:
        validate_email(email)
    except DjangoValidationError:
        raise ValidationError("Enter a valid email address.", field="email") from None
    return email


def join_waitlist(email: str) -> WaitlistEntry:
    """Queue ``email`` for an account. ``ValidationError`` for a bad or already used address;
    ``Conflict`` when the address is already queued (its link was shown when it joined)."""
    email = _clean_email(email)
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError("An account with that email address already exists.", field="email")
    if WaitlistEntry.objects.filter(email__iexact=email, used_at__isnull=True).exists():
        raise Conflict("That email address is already on the waitlist: use the link you were given when you joined.")
    try:
        with transaction.atomic():
            entry = WaitlistEntry.objects.create(email=email, created_at=now())
            events.emit("waitlist.joined", entry_id=entry.pk)
    except IntegrityError:
        raise Conflict("That email address is already on the waitlist: use the link you were given when you joined.") from None
    return entry


def admit(actor: User | None, count: int) -> list[WaitlistEntry]:
    """Admit the ``count`` people longest on the waitlist (they get an email with their link). Audited."""
    _require_admin(actor)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_ADMIT:
        raise ValidationError(f"Admit a whole number of people from 1 to {MAX_ADMIT}.", field="count")
    at = now()
    with transaction.atomic():
        ids = list(
            WaitlistEntry.objects.select_for_update()
            .filter(admitted_at__isnull=True)
            .order_by("id")
            .values_list("id", flat=True)[:count]
        )
        WaitlistEntry.objects.filter(pk__in=ids, admitted_at__isnull=True).update(admitted_at=at)
        for entry_id in ids:
            events.emit("waitlist.admitted", entry_id=entry_id)
        audit.record(
            actor, "surge.admitted", reason=f"{len(ids)} admitted from the waitlist.", detail={"count": len(ids), "asked": count}
        )
    return list(WaitlistEntry.objects.filter(pk__in=ids).order_by("id"))


def send_waitlist_email(entry_id: int, *, admitted: bool) -> None:
    """The pipeline's handler: mail the person their link (on joining, and on admission)."""
    from django.core.mail import send_mail

    entry = WaitlistEntry.objects.filter(pk=entry_id, used_at__isnull=True).first()
    if entry is None:
        return
    name = settings.ROSTRA.instance_name
    if admitted:
        subject = f"[{name}] You can create your account now"
        body = f"Your turn has come: choose your username and password at\n\n{link_for(entry)}\n\nThe link is yours alone; keep it private."
    else:
        subject = f"[{name}] You are on the waitlist"
        body = (
            f"Sign-ups to {name} are queued while many people join at once. You are on the waitlist; this link shows "
            f"your place and, once it is your turn, lets you create your account:\n\n{link_for(entry)}\n\nKeep it private."
        )
    send_mail(subject, body, None, [entry.email], fail_silently=False)


def sign_up_admitted(token: str, username: str, password: str) -> User:
    """Create the account of an admitted waitlist entry (its email address), once."""
    from rostra.accounts.actions import check_sign_up, create_person

    if settings.ROSTRA.registrations != "open":
        raise PermissionDenied("Sign-ups are closed on this server: an admin closed them after you were admitted.")
    entry = entry_for_token(token)
    if entry.admitted_at is None:
        raise PermissionDenied("It is not your turn yet: this link will let you sign up once you are admitted.")
    used = NotFound("This waitlist link was already used to create an account.")
    if entry.used_at is not None:
        raise used  # a second submit: said before any hashing (its checks would call the email taken)
    new = check_sign_up(username, entry.email, password)  # the password hash, before the transaction
    with transaction.atomic():
        locked = WaitlistEntry.objects.select_for_update().get(pk=entry.pk)
        if locked.used_at is not None:
            raise used
        user = create_person(new)
        locked.used_at = now()
        locked.save(update_fields=["used_at"])
    return user


# --- Invites ------------------------------------------------------------------------------------


def create_invite(actor: User | None, *, max_uses: int = 1, expires_in_days: int | None = 7) -> Invite:
    """An invite link for moderators and admins to hand out (``actor`` None: the command line). Audited."""
    if actor is not None and not actor.is_moderator:
        raise PermissionDenied("Only moderators and admins can create invites.")
    if isinstance(max_uses, bool) or not isinstance(max_uses, int) or not 1 <= max_uses <= MAX_INVITE_USES:
        raise ValidationError(f"An invite works from 1 to {MAX_INVITE_USES} times.", field="max_uses")
    if expires_in_days is not None and (
        isinstance(expires_in_days, bool) or not isinstance(expires_in_days, int) or not 1 <= expires_in_days <= MAX_INVITE_DAYS
    ):
        raise ValidationError(f"An invite expires after 1 to {MAX_INVITE_DAYS} days, or never.", field="expires_in_days")
    at = now()
    with transaction.atomic():
        invite = Invite.objects.create(
            code=secrets.token_urlsafe(12),
            created_by=actor,
            created_at=at,
            max_uses=max_uses,
            expires_at=at + timedelta(days=expires_in_days) if expires_in_days else None,
        )
        audit.record(
            actor,
            "invite.created",
            target_type="invite",
            target_id=invite.pk,
            detail={"max_uses": max_uses, "expires_in_days": expires_in_days},
        )
    return invite


def invite_link(invite: Invite) -> str:
    return f"{settings.ROSTRA.base_url}/signup?invite={invite.code}"


def _usable(at: datetime) -> Q:
    return Q(revoked_at__isnull=True, uses__lt=F("max_uses")) & (Q(expires_at__isnull=True) | Q(expires_at__gt=at))


def check_invite(code: str) -> Invite:
    """The invite ``code`` names, if it can still be used; ``ValidationError`` otherwise."""
    code = (code or "").strip()
    invite = Invite.objects.filter(_usable(now()), code=code).first() if 0 < len(code) <= 32 else None
    if invite is None:
        raise ValidationError("This invite link is not valid: it has expired, was withdrawn or has been used up.", field="invite")
    return invite


def sign_up_with_invite(code: str, username: str, email: str, password: str, *, within: Callable[[User], object] | None = None) -> User:
    """Sign up past the waitlist, spending one use of the invite, together or not at all.
    ``within(user)``: more to write in the same transaction (the API's token); if it raises,
    nothing is kept."""
    from rostra.accounts.actions import check_sign_up, create_person

    check_invite(code)
    new = check_sign_up(username, email, password)  # the password hash, before the transaction
    with transaction.atomic():
        spent = Invite.objects.filter(_usable(now()), code=code.strip()).update(uses=F("uses") + 1)
        if spent != 1:
            raise ValidationError(
                "This invite link is not valid: it has expired, was withdrawn or has been used up.", field="invite"
            )
        user = create_person(new)
        if within is not None:
            within(user)
        return user


def revoke_invite(actor: User, invite_id: int) -> None:
    if actor is None or not actor.is_moderator:
        raise PermissionDenied("Only moderators and admins can withdraw invites.")
    with transaction.atomic():
        if not Invite.objects.filter(pk=invite_id, revoked_at__isnull=True).update(revoked_at=now()):
            raise NotFound("No such invite.")
        audit.record(actor, "invite.revoked", target_type="invite", target_id=invite_id)


def invites() -> list[Invite]:
    return list(Invite.objects.select_related("created_by").order_by("-created_at")[:200])


# --- New accounts during a surge ----------------------------------------------------------------


def is_new(account: Account) -> bool:
    created = account.created_at
    return account.is_local and created is not None and now() - created < timedelta(days=NEW_ACCOUNT_DAYS)


def check_new_account(account: Account, kind: str) -> None:
    """During a surge, count one ``kind`` (post, follow, media) against the stricter limit for
    accounts younger than ``NEW_ACCOUNT_DAYS``; ``RateLimited`` over it. Fails open when the
    limiter is down (the ordinary limits still apply)."""
    if kind not in RULE_FOR:
        raise ValueError(kind)
    if not is_new(account) or not is_active():
        return
    rule = ratelimit.rules()[RULE_FOR[kind]]
    try:
        verdict = ratelimit.limiter().hit(rule, str(account.pk))
    except ratelimit.LimiterUnavailable:
        return
    if not verdict.allowed:
        what = {"post": "posts", "follow": "follows", "media": "uploads"}[kind]
        raise RateLimited(
            f"New accounts can make at most {rule.limit} {what} every {rule.period_s // 60} minutes while "
            f"{settings.ROSTRA.instance_name} is in surge mode. Please try again later.",
            verdict.retry_after(),
        )


def shed_optional_fetches() -> bool:
    """Whether optional outbound fetches (search resolution, missing parents, remote media, backfill) wait."""
    return is_active()


def describe() -> dict[str, Any]:
    """For the CLI and the admin page."""
    st = status_now()
    return {
        "mode": st.mode,
        "active": st.active,
        "auto_active": st.auto_active,
        "threshold_per_min": settings.ROSTRA.surge_signups_per_min,
        "signups_per_min": round(signup_rate(), 2),
        "waiting": waiting_count(),
        "admitted_not_signed_up": WaitlistEntry.objects.filter(admitted_at__isnull=False, used_at__isnull=True).count(),
        "message": st.message,
        "custom_message": st.custom_message,
        "changed_at": st.changed_at.isoformat() if st.changed_at else None,
    }
