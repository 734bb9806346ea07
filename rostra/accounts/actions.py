"""Every write to accounts and the social graph. Views and tasks call these; nothing else saves.

``check_*`` style validation happens at the top of each function; nothing is written until all
of the input is known good, and each action is one transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F

from rostra.accounts import farewell, sessions
from rostra.accounts.models import Account, AccountNote, Block, Endorsement, Follow, FollowRequest, Mute, Role, User
from rostra.core import events
from rostra.core.clock import now
from rostra.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from rostra.core.images import delete_files, store_image
from rostra.core.languages import is_language
from rostra.core.mediastore import media_store
from rostra.core.prepared import Prepared
from rostra.core.text import render

USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{1,30}$")
RESERVED_USERNAMES = frozenset(
    ["admin", "administrator", "api", "about", "auth", "login", "logout", "signup", "settings", "static", "media", "home", "public", "tags", "search", "notifications", "explore", "root", "rostra", "support", "help", "moderator", "moderators", "mod", "staff", "system", "instance", "inbox", "outbox", "users", "user", "well-known", "nodeinfo", "oauth", "manifest", "sw", "bookmarks", "follow-requests", "null", "undefined", "everyone"]
)
MAX_DISPLAY_NAME = 60
MAX_NOTE = 500
MAX_FIELDS = 4
MAX_FIELD_NAME = 60
MAX_FIELD_VALUE = 255


def _media_store() -> Any:
    return media_store()


# Every sign-up asks these (the ORM took ~1 ms to build the three): prepared once each.
_USERNAME_TAKEN = Prepared(
    "whether a local username is taken", lambda username: Account.objects.filter(username__iexact=username, domain="").order_by().values_list("pk")[:1]
)
_LOGIN_TAKEN = Prepared("whether a login name is taken", lambda username: User.objects.filter(username__iexact=username).order_by().values_list("pk")[:1])
_EMAIL_TAKEN = Prepared("whether an email address is taken", lambda email: User.objects.filter(email__iexact=email).order_by().values_list("pk")[:1])


def validate_username(username: str) -> str:
    username = (username or "").strip().lstrip("@")
    if not username:
        raise ValidationError("Choose a username.", field="username")
    if not USERNAME_RE.match(username):
        raise ValidationError("A username is 1 to 30 letters, digits or underscores.", field="username")
    if username.lower() in RESERVED_USERNAMES:
        raise ValidationError("That username is reserved; please choose another.", field="username")
    # ``iexact`` on these fields is LOWER() = LOWER(), served by the unique indexes (models.LowerExact)
    if _USERNAME_TAKEN.rows(username=username) or _LOGIN_TAKEN.rows(username=username):
        raise ValidationError("That username is taken.", field="username")
    return username


@dataclass(frozen=True)
class NewPerson:
    """A sign-up checked and with its password hashed, ready for ``create_person``."""

    username: str
    email: str
    password_hash: str
    role: str
    display_name: str


def check_sign_up(username: str, email: str, password: str, *, role: str = Role.MEMBER, display_name: str = "") -> NewPerson:
    """Validate a sign-up (``ValidationError`` lists every problem at once) and hash its password.

    The hash (Argon2id, tens of milliseconds) is computed here, outside any transaction, and so
    must this be called: on SQLite a write transaction is one lock for the whole database, and a
    hash inside it would queue every other writer of the server behind it."""
    errors: dict[str, list[str]] = {}
    try:
        username = validate_username(username)
    except ValidationError as exc:
        errors.setdefault("username", []).append(exc.message)
    email = (email or "").strip()
    try:
        validate_email(email)
        if _EMAIL_TAKEN.rows(email=email):
            errors.setdefault("email", []).append("An account with that email address already exists.")
    except DjangoValidationError:
        errors.setdefault("email", []).append("Enter a valid email address.")
    if role not in Role.values:
        errors.setdefault("role", []).append(f"Role must be one of {', '.join(Role.values)}.")
    try:
        password_validation.validate_password(password or "", User(username=username, email=email))
    except DjangoValidationError as exc:
        errors.setdefault("password", []).extend(exc.messages)
    if errors:
        first = next(iter(errors.values()))[0]
        raise ValidationError(first, errors=errors)
    return NewPerson(username, email, make_password(password), role, display_name[:MAX_DISPLAY_NAME])


def create_person(new: NewPerson) -> User:
    """Write a checked sign-up: the login and its public account, together or not at all (two
    inserts; callers may wrap this in their own transaction with what the sign-up spends)."""
    try:
        with transaction.atomic():
            user = User(username=new.username, email=new.email, role=new.role, password=new.password_hash)
            user.save()
            Account.objects.create(user=user, username=new.username, display_name=new.display_name)
    except IntegrityError:  # a concurrent sign-up took the name between our check and insert
        raise ValidationError("That username or email address is taken.", field="username") from None
    return user


def sign_up(username: str, email: str, password: str, *, role: str = Role.MEMBER, display_name: str = "") -> User:
    """Create a person: the login and its public account, together or not at all. Call it outside
    any transaction (see ``check_sign_up``); to spend something in the same transaction as the
    inserts, call ``check_sign_up`` first and ``create_person`` inside the transaction."""
    return create_person(check_sign_up(username, email, password, role=role, display_name=display_name))


@dataclass
class ProfileUpdate:
    display_name: str | None = None
    note: str | None = None
    fields: list[tuple[str, str]] | None = None
    locked: bool | None = None
    discoverable: bool | None = None
    bot: bool | None = None
    avatar: bytes | None = None
    header: bytes | None = None
    remove_avatar: bool = False
    remove_header: bool = False


def update_profile(account: Account, change: ProfileUpdate) -> Account:
    errors: dict[str, list[str]] = {}
    if change.display_name is not None and len(change.display_name.strip()) > MAX_DISPLAY_NAME:
        errors["display_name"] = [f"A display name is at most {MAX_DISPLAY_NAME} characters."]
    if change.note is not None and len(change.note.strip()) > MAX_NOTE:
        errors["note"] = [f"A bio is at most {MAX_NOTE} characters."]
    fields: list[dict[str, str]] | None = None
    if change.fields is not None:
        pairs = [(n.strip(), v.strip()) for n, v in change.fields if n.strip() or v.strip()]
        if len(pairs) > MAX_FIELDS:
            errors["fields"] = [f"At most {MAX_FIELDS} profile links."]
        elif any(len(n) > MAX_FIELD_NAME or len(v) > MAX_FIELD_VALUE for n, v in pairs):
            errors["fields"] = [f"A label is at most {MAX_FIELD_NAME} characters and a value at most {MAX_FIELD_VALUE}."]
        elif any(not n or not v for n, v in pairs):
            errors["fields"] = ["Each profile link needs both a label and a value."]
        else:
            fields = [{"name": n, "value": v, "value_html": render(v)} for n, v in pairs]
    if errors:
        raise ValidationError(next(iter(errors.values()))[0], errors=errors)

    stored: list[str] = []
    old_files: list[str] = []
    media = settings.ROSTRA
    try:
        avatar = header = None
        if change.avatar is not None:
            avatar = store_image(media_store(), change.avatar, max_bytes=media.media_max_bytes, max_pixels=media.media_max_pixels, field="avatar")
            stored += [avatar.file, avatar.thumbnail]
        if change.header is not None:
            header = store_image(media_store(), change.header, max_bytes=media.media_max_bytes, max_pixels=media.media_max_pixels, field="header")
            stored += [header.file, header.thumbnail]
        with transaction.atomic():
            account = Account.objects.select_for_update().get(pk=account.pk)
            if change.display_name is not None:
                account.display_name = change.display_name.strip()
            if change.note is not None:
                account.note = change.note.strip()
                account.note_html = render(account.note) if account.note else ""
            if fields is not None:
                account.fields = fields
            if change.locked is not None:
                account.locked = change.locked
            if change.discoverable is not None:
                account.discoverable = change.discoverable
            if change.bot is not None:
                account.bot = change.bot
            if avatar or change.remove_avatar:
                old_files.append(account.avatar)
                account.avatar = avatar.thumbnail if avatar else ""
            if header or change.remove_header:
                old_files.append(account.header)
                account.header = header.file if header else ""
            account.save()
            # Only the variant shown is kept; the other was never referenced.
            unused = ([avatar.file] if avatar else []) + ([header.thumbnail] if header else [])
            transaction.on_commit(lambda: delete_files(_media_store(), unused + old_files))
            events.emit("account.updated", account_id=account.pk)
    except Exception:
        delete_files(_media_store(), stored)
        raise
    if change.locked is False:
        # Unlocking accepts whoever was waiting, as people expect.
        for req in list(FollowRequest.objects.filter(target=account)):
            accept_follow_request(account, req.requester_id)
    return account


def _get_account(account_id: int) -> Account:
    try:
        return Account.objects.get(pk=account_id, suspended_at__isnull=True)
    except Account.DoesNotExist:
        raise NotFound("No such account.") from None


def follow(follower: Account, target: Account, *, require_approval: bool = False) -> str:
    """Follow, or ask to follow a locked account (or any account, with ``require_approval``: a
    follow from a silenced domain). Returns 'following' or 'requested'."""
    if follower.pk == target.pk:
        raise ValidationError("You cannot follow yourself.")
    if target.suspended_at is not None:
        raise NotFound("No such account.")
    if Block.objects.filter(account=target, target=follower).exists():
        raise PermissionDenied("You cannot follow this account.")
    if Block.objects.filter(account=follower, target=target).exists():
        raise Conflict("You have blocked this account; unblock it first.")
    if follower.is_local and not Follow.objects.filter(follower=follower, target=target).exists():
        from rostra.accounts import surge  # surge mode: a lower follow limit for new accounts

        surge.check_new_account(follower, "follow")
    with transaction.atomic():
        if Follow.objects.filter(follower=follower, target=target).exists():
            return "following"
        if target.locked or require_approval:
            _, created = FollowRequest.objects.get_or_create(requester=follower, target=target)
            if created:
                events.emit("follow.requested", requester_id=follower.pk, target_id=target.pk)
            return "requested"
        _create_follow(follower, target)
    return "following"


def _create_follow(follower: Account, target: Account, *, from_request: bool = False) -> None:
    try:
        with transaction.atomic():
            Follow.objects.create(follower=follower, target=target)
    except IntegrityError:
        return  # already following: nothing to do
    Account.objects.filter(pk=follower.pk).update(following_count=F("following_count") + 1)
    Account.objects.filter(pk=target.pk).update(followers_count=F("followers_count") + 1)
    events.emit("follow.created", follower_id=follower.pk, target_id=target.pk, from_request=from_request)


def unfollow(follower: Account, target: Account) -> None:
    with transaction.atomic():
        FollowRequest.objects.filter(requester=follower, target=target).delete()
        if _delete_follow(follower, target):
            events.emit("follow.removed", follower_id=follower.pk, target_id=target.pk)


def _delete_follow(follower: Account, target: Account) -> bool:
    """End a follow, and with it the follower's endorsement of the target (as Mastodon does):
    unfollowing, being removed from the followers and blocking all come through here. The follow
    goes first: its row lock makes a concurrent ``endorse`` wait, then find no follow."""
    deleted, _ = Follow.objects.filter(follower=follower, target=target).delete()
    Endorsement.objects.filter(account=follower, target=target).delete()
    if deleted:
        Account.objects.filter(pk=follower.pk, following_count__gt=0).update(following_count=F("following_count") - 1)
        Account.objects.filter(pk=target.pk, followers_count__gt=0).update(followers_count=F("followers_count") - 1)
    return bool(deleted)


def accept_follow_request(target: Account, requester_id: int) -> None:
    with transaction.atomic():
        req = FollowRequest.objects.select_related("requester").filter(target=target, requester_id=requester_id).first()
        if req is None:
            raise NotFound("That follow request no longer exists.")
        requester = req.requester
        req.delete()
        _create_follow(requester, target, from_request=True)


def reject_follow_request(target: Account, requester_id: int) -> None:
    with transaction.atomic():
        deleted, _ = FollowRequest.objects.filter(target=target, requester_id=requester_id).delete()
        if not deleted:
            raise NotFound("That follow request no longer exists.")
        events.emit("follow_request.rejected", target_id=target.pk, requester_id=requester_id)  # a remote requester is sent Reject


def remove_follower(account: Account, follower: Account) -> None:
    with transaction.atomic():
        if _delete_follow(follower, account):
            events.emit("follow.removed", follower_id=follower.pk, target_id=account.pk)


def block(account: Account, target: Account) -> None:
    if account.pk == target.pk:
        raise ValidationError("You cannot block yourself.")
    with transaction.atomic():
        _, created = Block.objects.get_or_create(account=account, target=target)
        # A block ends every relationship between the two, both ways.
        for a, b in ((account, target), (target, account)):
            _delete_follow(a, b)
            FollowRequest.objects.filter(requester=a, target=b).delete()
        if created:
            events.emit("block.created", account_id=account.pk, target_id=target.pk)


def unblock(account: Account, target: Account) -> None:
    with transaction.atomic():
        deleted, _ = Block.objects.filter(account=account, target=target).delete()
        if deleted:
            events.emit("block.removed", account_id=account.pk, target_id=target.pk)  # a remote target is sent Undo{Block}


def mute(account: Account, target: Account, *, hide_notifications: bool = True, duration_s: int | None = None) -> None:
    if account.pk == target.pk:
        raise ValidationError("You cannot mute yourself.")
    if duration_s is not None and duration_s < 0:
        raise ValidationError("A mute's duration cannot be negative.", field="duration")
    expires = None
    if duration_s:
        from datetime import timedelta

        expires = now() + timedelta(seconds=duration_s)
    Mute.objects.update_or_create(account=account, target=target, defaults={"hide_notifications": hide_notifications, "expires_at": expires})


def unmute(account: Account, target: Account) -> None:
    Mute.objects.filter(account=account, target=target).delete()


def change_password(user: User, old_password: str, new_password: str, *, keep_session_key: str | None = None) -> None:
    """Set a new password; every other web session ends (``keep_session_key`` is the browser
    that asked) and every API token issued before now."""
    if not user.check_password(old_password or ""):
        raise ValidationError("Your current password is not right.", field="old_password")
    try:
        password_validation.validate_password(new_password or "", user)
    except DjangoValidationError as exc:
        raise ValidationError(exc.messages[0], errors={"new_password": list(exc.messages)}) from None
    with transaction.atomic():
        user.set_password(new_password)
        # The apps' tokens issued before now end too (rostra.api.oauth.find_token reads this).
        user.credentials_changed_at = now()
        user.save(update_fields=["password", "credentials_changed_at"])
        sessions.end_other_sessions(user, keep_session_key)


def _check_language(default_language: str | None) -> str | None:
    """A default posting language as stored: an ISO 639-1 code in lower case, or "" for none."""
    if default_language is None:
        return None
    code = default_language.strip().lower()
    if code and not is_language(code):
        raise ValidationError("Choose a language by its two-letter ISO 639-1 code, such as en or de.", field="default_language")
    return code


def update_preferences(
    user: User, *, default_visibility: str | None = None, default_sensitive: bool | None = None, default_language: str | None = None
) -> None:
    language = _check_language(default_language)
    if default_visibility is not None:
        if default_visibility not in {"public", "unlisted", "private", "direct"}:
            raise ValidationError("Choose public, unlisted, followers only or mentioned people only.", field="default_visibility")
        user.default_visibility = default_visibility
    if default_sensitive is not None:
        user.default_sensitive = default_sensitive
    if language is not None:
        user.default_language = language
    user.save(update_fields=["default_visibility", "default_sensitive", "default_language"])


def delete_account(user: User, password: str) -> None:
    """Delete a person for real: posts, media files, likes, follows, sessions, the login itself."""
    if not user.check_password(password or ""):
        raise ValidationError("Your password is not right.", field="password")
    purge_account(user.account)


def purge_account(account: Account) -> None:
    from rostra.posts.actions import media_files_of_account, recount_after_account_removal

    account_id = account.pk
    with transaction.atomic():
        files = [*media_files_of_account(account), account.avatar, account.header]
        affected = recount_after_account_removal(account)
        follower_targets = list(Follow.objects.filter(follower=account).values_list("target_id", flat=True))
        followed_by = list(Follow.objects.filter(target=account).values_list("follower_id", flat=True))
        user = account.user
        # Collected before the rows cascade away with the login (rostra.accounts.sessions)
        session_keys = sessions.session_keys(user.pk) if user is not None else []
        if account.is_local:
            farewell.before_purge(account)  # federation: the Delete of the actor, while its key is here
        account.delete()  # cascades posts, edits, media rows, likes, bookmarks, follows, timeline rows, notifications
        if user is not None:
            user.delete()
        Account.objects.filter(pk__in=follower_targets, followers_count__gt=0).update(followers_count=F("followers_count") - 1)
        Account.objects.filter(pk__in=followed_by, following_count__gt=0).update(following_count=F("following_count") - 1)
        affected()
        events.emit("account.deleted", account_id=account_id)
        transaction.on_commit(lambda: delete_files(_media_store(), files))
        sessions.delete_sessions(session_keys)


def set_role(user: User, role: str) -> None:
    if role not in Role.values:
        raise ValidationError(f"Role must be one of {', '.join(Role.values)}.", field="role")
    user.role = role
    user.save(update_fields=["role"])


# --- What the client API does besides (Mastodon's update_credentials, follow options, suggestions)


def update_credentials(
    account: Account,
    change: ProfileUpdate,
    *,
    default_visibility: str | None = None,
    default_sensitive: bool | None = None,
    default_language: str | None = None,
) -> Account:
    """The profile and the posting preferences together, or nothing: bad input in either part
    writes neither (a stored image is removed again)."""
    if default_visibility is not None and default_visibility not in {"public", "unlisted", "private", "direct"}:
        raise ValidationError("Choose public, unlisted, private or direct.", field="default_visibility")
    _check_language(default_language)
    with transaction.atomic():
        account = update_profile(account, change)
        preferences = (default_visibility, default_sensitive, default_language)
        if any(p is not None for p in preferences) and account.user is not None:
            update_preferences(
                account.user, default_visibility=default_visibility, default_sensitive=default_sensitive, default_language=default_language
            )
    return account


def set_follow_options(follower: Account, target: Account, *, show_reposts: bool | None = None, notify: bool | None = None) -> None:
    """Remember whether ``follower`` wants ``target``'s reposts and a notice of each new post."""
    changes: dict[str, bool] = {}
    if show_reposts is not None:
        changes["show_reposts"] = show_reposts
    if notify is not None:
        changes["notify"] = notify
    if changes:
        Follow.objects.filter(follower=follower, target=target).update(**changes)


def dismiss_suggestion(account: Account, target: Account) -> None:
    """Never suggest ``target`` to ``account`` again."""
    from rostra.accounts.models import SuggestionDismissal

    SuggestionDismissal.objects.get_or_create(account=account, target=target)


# --- Private notes on accounts and endorsements (Mastodon's /accounts/:id/note, /pin, /unpin)

MAX_ACCOUNT_NOTE = 2000  # Mastodon's AccountNote limit


def set_account_note(account: Account, target: Account, comment: str) -> None:
    """Write ``account``'s private note on ``target``; an empty (or blank) comment removes it."""
    comment = comment or ""
    if len(comment) > MAX_ACCOUNT_NOTE:
        raise ValidationError(f"A note is at most {MAX_ACCOUNT_NOTE} characters.", field="comment")
    if not comment.strip():
        AccountNote.objects.filter(account=account, target=target).delete()
        return
    AccountNote.objects.update_or_create(account=account, target=target, defaults={"comment": comment})


def endorse(account: Account, target: Account) -> None:
    """Feature ``target`` on ``account``'s profile. Only people one follows can be endorsed."""
    with transaction.atomic():
        if not Follow.objects.select_for_update().filter(follower=account, target=target).exists():
            raise ValidationError("You must be already following the person you want to endorse.")
        Endorsement.objects.get_or_create(account=account, target=target)


def unendorse(account: Account, target: Account) -> None:
    Endorsement.objects.filter(account=account, target=target).delete()
