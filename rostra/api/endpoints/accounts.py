"""Accounts: registration, profiles, statuses, the social graph (follow, block, mute, requests),
relationships, search, bookmarks and favourites, as Mastodon 4.x serves them.

Each endpoint parses, authorises (``Scoped`` with Mastodon's scopes), calls one query or action of
``rostra.accounts`` / ``rostra.posts`` / ``rostra.timelines`` / ``rostra.search``, and renders with
``rostra.api.entities``. Suspended accounts answer 404 to everybody else, as accounts that do not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema

from rostra.accounts import actions as account_actions
from rostra.accounts import queries as account_queries
from rostra.accounts import surge
from rostra.accounts.models import Account, User
from rostra.api import entities, oauth, schemas
from rostra.api.endpoints.featured_tags import FeaturedTagSchema, featured_tag_entity
from rostra.api.http import (
    ApiError,
    MaybeScoped,
    Scoped,
    account_of,
    body_int,
    body_params,
    error_response,
    flag,
    form_body_openapi,
    nested_attributes,
    page_request,
    paginated,
    parse_bool,
    path_id,
    query_ids,
    token_of,
    viewer_of,
)
from rostra.core.errors import Conflict, NotFound, ValidationError
from rostra.core.images import read_upload
from rostra.core.pagination import Page, paginate
from rostra.posts import featured_tags as featured
from rostra.posts import queries as post_queries
from rostra.search import queries as search_queries
from rostra.timelines import lists as list_queries
from rostra.timelines.filters import apply_filters

router = Router(tags=["accounts"])

ACCOUNTS_LIMIT = 40  # Mastodon's default page of accounts
ACCOUNTS_MAX = 80  # and its maximum
MAX_IDS = 40  # id[] values read per request (Mastodon reads as many; a bound keeps a request cheap)


# --- Input helpers ---------------------------------------------------------------------------


def _ids(request: HttpRequest) -> list[int]:
    """``id[]=1&id[]=2`` (or ``id=1``): the first ``MAX_IDS`` ids; values that are not ids are skipped."""
    return query_ids(request)[:MAX_IDS]


def _account(account_id: str) -> Account:
    """An unsuspended account by id; 404 otherwise (suspended accounts answer like missing ones)."""
    return account_queries.get_account(path_id(account_id))


def _relationship(viewer: Account, target: Account) -> dict[str, Any]:
    return _render_relationship(account_queries.relationship_detail(viewer, target))


def _change_relationship(request: HttpRequest, account_id: str, change: Callable[[Account, Account], object]) -> dict[str, Any]:
    """The plain social-graph endpoints: ``change(viewer, target)``, then the new Relationship."""
    viewer = account_of(request)
    target = _account(account_id)
    change(viewer, target)
    return _relationship(viewer, target)


def _render_relationship(d: account_queries.RelationshipDetail) -> dict[str, Any]:
    out = entities.relationship(d.account, d.relationship, requested_by=d.requested_by, muting_notifications=d.muting_notifications)
    out["showing_reblogs"] = d.showing_reblogs
    out["notifying"] = d.notifying
    return out


# --- Registration ----------------------------------------------------------------------------

# Rostra's validation messages as Mastodon's error codes (the ``details`` of a 422).
_CODES = (
    ("taken", "ERR_TAKEN"),
    ("already exists", "ERR_TAKEN"),
    ("reserved", "ERR_RESERVED"),
    ("too short", "ERR_TOO_SHORT"),
    ("too common", "ERR_INVALID"),
    ("choose a username", "ERR_BLANK"),
)


def _code(message: str) -> str:
    low = message.lower()
    return next((code for needle, code in _CODES if needle in low), "ERR_INVALID")


def _registration_failed(errors: dict[str, list[tuple[str, str]]]) -> HttpResponse:
    """Mastodon's 422 for a sign-up: a sentence, and per field ``[{"error": code, "description": ...}]``."""
    summary = ", ".join(f"{field.capitalize()} {desc[0].lower()}{desc[1:].rstrip('.')}" for field, items in errors.items() for _c, desc in items)
    details = {field: [{"error": code, "description": desc} for code, desc in items] for field, items in errors.items()}
    return error_response(422, f"Validation failed: {summary}", details=details)


def _waitlisted(email: str) -> HttpResponse:
    """Surge mode: the address joins the waitlist; 429 names the waitlist, the place and the link
    (docs/api-compatibility.md, "Registering an account"). A bad or queued address: Mastodon's 422."""
    try:
        entry = surge.join_waitlist(email)
    except ValidationError as exc:
        return _registration_failed({"email": [(_code(exc.message), exc.message)]})
    except Conflict as exc:
        return _registration_failed({"email": [("ERR_TAKEN", exc.message)]})
    place = surge.position(entry) or 1
    return error_response(
        429,
        f"Sign-ups are queued on a waitlist (surge mode): you are number {place:,}. Your place and, when it is your turn, "
        f"the sign-up form are at {surge.link_for(entry)} (also sent to your email address).",
        {"Retry-After": "3600"},
        waitlist={"position": place, "url": surge.link_for(entry)},
    )


class RegistrationIn(Schema):
    username: str
    email: str
    password: str
    agreement: bool
    locale: str
    reason: str | None = None


class RegistrationError(Schema):
    error: str
    details: dict[str, list[dict[str, str]]]


class Token(Schema):
    access_token: str
    token_type: str
    scope: str
    created_at: int


class UpdateCredentialsIn(Schema):
    display_name: str | None = None
    note: str | None = None
    locked: bool | None = None
    bot: bool | None = None
    discoverable: bool | None = None
    fields_attributes: list[dict[str, str]] | dict[str, dict[str, str]] | None = None
    source: dict[str, Any] | None = None


class FamiliarFollowers(Schema):
    id: str
    accounts: list[schemas.Account]


@router.post(
    "/v1/accounts",
    response={200: Token, 403: schemas.Error, 422: RegistrationError, 429: schemas.Error},
    auth=Scoped("write:accounts", user=False),
    summary="Register an account (with an app token); answers a user token",
    openapi_extra=form_body_openapi(RegistrationIn),
)
def register(request: HttpRequest) -> Any:
    data = body_params(request)
    token = token_of(request)
    if settings.ROSTRA.registrations != "open" or token.user is not None:
        raise ApiError(403, "This action is not allowed")  # closed sign-ups; or a signed-in person
    username = str(data.get("username") or "").strip()
    email = str(data.get("email") or "").strip()
    password = str(data.get("password") or "")
    errors: dict[str, list[tuple[str, str]]] = {}
    for field, value in (("username", username), ("email", email), ("password", password)):
        if not value:
            errors.setdefault(field, []).append(("ERR_BLANK", "can't be blank"))
    try:
        agreed = parse_bool(data.get("agreement"), "agreement")
    except ApiError:
        agreed = False
    if not agreed:
        errors.setdefault("agreement", []).append(("ERR_ACCEPTED", "must be accepted"))
    if errors:
        return _registration_failed(errors)
    invite = str(data.get("invite_code") or "").strip()  # Rostra's extension: an invite skips the surge waitlist
    if surge.is_active() and not invite:
        return _waitlisted(email)
    # The person and their token are written together, in one commit, or not at all. The password
    # is hashed before the transaction (it must not hold SQLite's write lock).
    issued: list[oauth.Issued] = []

    def issue_token(user: User) -> None:
        issued.append(oauth.password_grant(token.application, user, token.application.scopes))

    try:
        if surge.is_active():
            surge.sign_up_with_invite(invite, username, email, password, within=issue_token)
        else:
            new = account_actions.check_sign_up(username, email, password)
            with transaction.atomic():
                issue_token(account_actions.create_person(new))
        surge.note_signup()
    except ValidationError as exc:
        for field, messages in exc.errors.items():
            for message in messages:
                errors.setdefault(field if field != "__all__" else "username", []).append((_code(message), message))
        return _registration_failed(errors)
    except oauth.OAuthError as exc:  # the app's registered scopes cannot be granted: nothing was kept
        raise ApiError(exc.status, f"No account was created: a token for this app cannot be issued. {exc.description} Register the app again.") from None
    return entities.token(issued[0].token, issued[0].access_token)


# --- The signed-in person's own account ---------------------------------------------------------


@router.get(
    "/v1/accounts/verify_credentials",
    response=schemas.CredentialAccount,
    auth=Scoped("read:accounts", "profile"),
    summary="The signed-in person's account, with its source",
)
def verify_credentials(request: HttpRequest) -> dict[str, Any]:
    account = account_of(request)
    return entities.credential_account(account, follow_requests_count=account_queries.follow_request_count(account))


def _profile_fields(request: HttpRequest, data: dict[str, Any]) -> list[tuple[str, str]] | None:
    """``fields_attributes`` as a form (``fields_attributes[0][name]``), a JSON object keyed by
    index or a JSON array; None when not given."""
    rows = nested_attributes(request, data, "fields_attributes")
    if rows is None:
        return None
    return [(str(r.get("name") or ""), str(r.get("value") or "")) for r in rows]


def _source(data: dict[str, Any], name: str) -> Any:
    nested = data.get("source")
    if isinstance(nested, dict) and name in nested:
        return nested[name]
    return data.get(f"source[{name}]")


@router.patch(
    "/v1/accounts/update_credentials",
    response=schemas.CredentialAccount,
    auth=Scoped("write:accounts"),
    summary="Update the signed-in person's profile and posting defaults",
    openapi_extra=form_body_openapi(UpdateCredentialsIn),
)
def update_credentials(request: HttpRequest) -> dict[str, Any]:
    account = account_of(request)
    data = body_params(request)  # PATCH forms too, with files in request.FILES
    files = request.FILES

    def text(name: str) -> str | None:
        value = data.get(name)
        return None if value is None else str(value)

    def image(name: str) -> bytes | None:
        upload = files.get(name)
        if upload is None:
            return None
        return read_upload(upload, size=upload.size, max_bytes=settings.ROSTRA.media_max_bytes, field=name)

    privacy = _source(data, "privacy")
    if privacy is not None and str(privacy) not in ("public", "unlisted", "private", "direct"):
        raise ApiError(422, "Validation failed: source[privacy] must be public, unlisted, private or direct")
    change = account_actions.ProfileUpdate(
        display_name=text("display_name"),
        note=text("note"),
        fields=_profile_fields(request, data),
        locked=parse_bool(data.get("locked"), "locked"),
        bot=parse_bool(data.get("bot"), "bot"),
        discoverable=parse_bool(data.get("discoverable"), "discoverable"),
        avatar=image("avatar"),
        header=image("header"),
    )
    sensitive = parse_bool(_source(data, "sensitive"), "source[sensitive]")
    language = _source(data, "language")
    account = account_actions.update_credentials(
        account,
        change,
        default_visibility=str(privacy) if privacy is not None else None,
        default_sensitive=sensitive,
        default_language=str(language) if language is not None else None,
    )
    account = account_queries.get_local_account(account.username)
    return entities.credential_account(account, follow_requests_count=account_queries.follow_request_count(account))


# --- Finding accounts (static paths before /accounts/{id}) ---------------------------------------------


@router.get("/v1/accounts/lookup", response=schemas.Account, auth=MaybeScoped("read:accounts"), summary="An account by its handle (acct)")
def lookup(request: HttpRequest, acct: str = "") -> dict[str, Any]:
    if not acct.strip():
        raise ApiError(400, "Missing required parameter: acct")
    try:
        return entities.account(account_queries.lookup(acct, settings.ROSTRA.domain))
    except NotFound:
        viewer = viewer_of(request)
        if viewer is None or not flag(request, "resolve") or "@" not in acct.strip().lstrip("@"):
            raise
    found = search_queries.resolve(viewer, acct, remote=True).account  # fetched from its server, rate-limited
    if found is None:
        raise NotFound("No such account.")
    return entities.account(found)


@router.get("/v1/accounts/relationships", response=list[schemas.Relationship], auth=Scoped("read:follows"), summary="How you stand towards the accounts id[]")
def relationships(request: HttpRequest) -> list[dict[str, Any]]:
    viewer = account_of(request)
    targets = account_queries.accounts_by_ids(_ids(request))
    return [_render_relationship(d) for d in account_queries.relationships(viewer, targets)]


@router.get("/v1/accounts/familiar_followers", response=list[FamiliarFollowers], auth=Scoped("read:follows"), summary="People you follow who follow each of id[]")
def familiar_followers(request: HttpRequest) -> list[dict[str, Any]]:
    viewer = account_of(request)
    out = []
    for target in account_queries.accounts_by_ids(_ids(request)):
        out.append({"id": str(target.pk), "accounts": [entities.account(a) for a in account_queries.familiar_followers(viewer, target)]})
    return out


@router.get("/v1/accounts/search", response=list[schemas.Account], auth=Scoped("read:accounts"), summary="Search accounts by name or handle")
def search(request: HttpRequest, q: str = "", limit: int = ACCOUNTS_LIMIT, offset: int = 0) -> list[dict[str, Any]]:
    viewer = account_of(request)
    resolve = flag(request, "resolve")
    only_followed = flag(request, "following")
    limit = max(1, min(ACCOUNTS_MAX, limit))
    offset = max(0, offset)
    found = search_queries.search_accounts(viewer, q, limit=offset + limit if not only_followed else search_queries.MAX_RESULTS)
    handle = q.strip().lstrip("@").lower()
    if resolve and offset == 0 and "@" in handle and all(a.acct.lower() != handle for a in found):
        # A handle not known here is fetched from its server (rate-limited; nothing on failure).
        fetched = search_queries.resolve(viewer, q, remote=True).account
        if fetched is not None and all(a.pk != fetched.pk for a in found):
            found.insert(0, fetched)
    if only_followed:
        followed = account_queries.followed_ids(viewer, [a.pk for a in found])
        found = [a for a in found if a.pk in followed]
    return [entities.account(a) for a in found[offset : offset + limit]]


@router.get("/v1/accounts", response=list[schemas.Account], auth=MaybeScoped("read:accounts"), summary="Several accounts by id[]")
def accounts_by_ids(request: HttpRequest) -> list[dict[str, Any]]:
    return [entities.account(a) for a in account_queries.accounts_by_ids(_ids(request))]


# --- One account ---------------------------------------------------------------------------------


@router.get("/v1/accounts/{account_id}", response=schemas.Account, auth=MaybeScoped("read:accounts"), summary="An account")
def get_account(request: HttpRequest, account_id: str) -> dict[str, Any]:
    return entities.account(_account(account_id))


@router.get("/v1/accounts/{account_id}/statuses", response=list[schemas.Status], auth=MaybeScoped("read:statuses"), summary="An account's statuses")
def account_statuses(request: HttpRequest, response: HttpResponse, account_id: str, tagged: str = "") -> list[dict[str, Any]]:
    viewer = viewer_of(request)
    account = _account(account_id)
    req = page_request(request)
    if flag(request, "pinned"):
        # Pins are few (Mastodon allows 5): one page, no cursors.
        posts = post_queries.pinned_posts(viewer, account)
        page: Page[Any] = Page(items=posts, next_max_id=None, prev_min_id=None)
    else:
        qs = post_queries.account_posts(
            viewer, account, only_media=flag(request, "only_media"), exclude_replies=flag(request, "exclude_replies"),
            exclude_reblogs=flag(request, "exclude_reblogs"), tagged=tagged,
        )
        page = paginate(qs, req)
    kept, warnings = apply_filters(viewer, page.items, "account")
    paginated(request, response, page)
    return entities.statuses(kept, viewer, filtered=warnings)


@router.get("/v1/accounts/{account_id}/followers", response=list[schemas.Account], auth=MaybeScoped("read:accounts"), summary="Who follows an account")
def followers(request: HttpRequest, response: HttpResponse, account_id: str) -> list[dict[str, Any]]:
    viewer = viewer_of(request)
    page = account_queries.followers(viewer, _account(account_id), page_request(request, default_limit=ACCOUNTS_LIMIT, max_limit=ACCOUNTS_MAX))
    paginated(request, response, page)
    return [entities.account(a) for a in page.items]


@router.get("/v1/accounts/{account_id}/following", response=list[schemas.Account], auth=MaybeScoped("read:accounts"), summary="Whom an account follows")
def following(request: HttpRequest, response: HttpResponse, account_id: str) -> list[dict[str, Any]]:
    viewer = viewer_of(request)
    page = account_queries.following(viewer, _account(account_id), page_request(request, default_limit=ACCOUNTS_LIMIT, max_limit=ACCOUNTS_MAX))
    paginated(request, response, page)
    return [entities.account(a) for a in page.items]


@router.get(
    "/v1/accounts/{account_id}/featured_tags",
    response=list[FeaturedTagSchema],
    auth=MaybeScoped("read:accounts"),
    summary="The hashtags an account features on its profile, with its public posts carrying each",
)
def featured_tags(request: HttpRequest, account_id: str) -> list[dict[str, Any]]:
    return [featured_tag_entity(f) for f in featured.featured_of(viewer_of(request), _account(account_id))]


@router.get("/v1/accounts/{account_id}/endorsements", response=list[schemas.Account], auth=MaybeScoped("read:accounts"), summary="Accounts an account features on its profile")
def account_endorsements(request: HttpRequest, response: HttpResponse, account_id: str) -> list[dict[str, Any]]:
    viewer = viewer_of(request)
    page = account_queries.endorsements(viewer, _account(account_id), page_request(request, default_limit=ACCOUNTS_LIMIT, max_limit=ACCOUNTS_MAX))
    paginated(request, response, page)
    return [entities.account(a) for a in page.items]


@router.get("/v1/accounts/{account_id}/lists", response=list[schemas.List], auth=Scoped("read:lists"), summary="Your lists that contain an account")
def account_lists(request: HttpRequest, account_id: str) -> list[dict[str, Any]]:
    viewer = account_of(request)
    return [entities.list_entity(lst) for lst in list_queries.lists_with_member(viewer, _account(account_id))]


# --- The social graph ----------------------------------------------------------------------------


@router.post("/v1/accounts/{account_id}/follow", response=schemas.Relationship, auth=Scoped("write:follows"), summary="Follow an account (or ask to)")
def follow(request: HttpRequest, account_id: str) -> dict[str, Any]:
    viewer = account_of(request)
    target = _account(account_id)
    data = body_params(request)
    reblogs = parse_bool(data.get("reblogs"), "reblogs")
    notify = parse_bool(data.get("notify"), "notify")
    account_actions.follow(viewer, target)
    account_actions.set_follow_options(viewer, target, show_reposts=reblogs, notify=notify)
    return _relationship(viewer, target)


@router.post("/v1/accounts/{account_id}/unfollow", response=schemas.Relationship, auth=Scoped("write:follows"), summary="Unfollow an account (or withdraw the request)")
def unfollow(request: HttpRequest, account_id: str) -> dict[str, Any]:
    return _change_relationship(request, account_id, account_actions.unfollow)


@router.post("/v1/accounts/{account_id}/remove_from_followers", response=schemas.Relationship, auth=Scoped("write:follows"), summary="Make an account stop following you")
def remove_from_followers(request: HttpRequest, account_id: str) -> dict[str, Any]:
    return _change_relationship(request, account_id, account_actions.remove_follower)


@router.post("/v1/accounts/{account_id}/block", response=schemas.Relationship, auth=Scoped("write:blocks"), summary="Block an account")
def block(request: HttpRequest, account_id: str) -> dict[str, Any]:
    return _change_relationship(request, account_id, account_actions.block)


@router.post("/v1/accounts/{account_id}/unblock", response=schemas.Relationship, auth=Scoped("write:blocks"), summary="Unblock an account")
def unblock(request: HttpRequest, account_id: str) -> dict[str, Any]:
    return _change_relationship(request, account_id, account_actions.unblock)


@router.post("/v1/accounts/{account_id}/mute", response=schemas.Relationship, auth=Scoped("write:mutes"), summary="Mute an account (optionally for a while)")
def mute(request: HttpRequest, account_id: str) -> dict[str, Any]:
    viewer = account_of(request)
    target = _account(account_id)
    data = body_params(request)
    notifications = parse_bool(data.get("notifications"), "notifications")
    duration = body_int(data.get("duration"), "duration", unit="seconds")
    account_actions.mute(viewer, target, hide_notifications=True if notifications is None else notifications, duration_s=duration or None)
    return _relationship(viewer, target)


@router.post("/v1/accounts/{account_id}/unmute", response=schemas.Relationship, auth=Scoped("write:mutes"), summary="Unmute an account")
def unmute(request: HttpRequest, account_id: str) -> dict[str, Any]:
    return _change_relationship(request, account_id, account_actions.unmute)


class AccountNoteIn(Schema):
    comment: str | None = None


@router.post(
    "/v1/accounts/{account_id}/note",
    response=schemas.Relationship,
    auth=Scoped("write:accounts"),
    summary="Set your private note on an account (empty clears it)",
    openapi_extra=form_body_openapi(AccountNoteIn),
)
def account_note(request: HttpRequest, account_id: str) -> dict[str, Any]:
    viewer = account_of(request)
    target = _account(account_id)
    comment = body_params(request).get("comment")
    if comment is not None and not isinstance(comment, str):
        raise ApiError(422, "Validation failed: comment must be a string")
    account_actions.set_account_note(viewer, target, comment or "")
    return _relationship(viewer, target)


@router.post("/v1/accounts/{account_id}/pin", response=schemas.Relationship, auth=Scoped("write:accounts"), summary="Feature an account you follow on your profile (endorse)")
def endorse(request: HttpRequest, account_id: str) -> dict[str, Any]:
    return _change_relationship(request, account_id, account_actions.endorse)


@router.post("/v1/accounts/{account_id}/unpin", response=schemas.Relationship, auth=Scoped("write:accounts"), summary="Stop featuring an account on your profile")
def unendorse(request: HttpRequest, account_id: str) -> dict[str, Any]:
    return _change_relationship(request, account_id, account_actions.unendorse)


# Mastodon 4.4's names for pin/unpin (both spellings are served, as in Mastodon).
@router.post("/v1/accounts/{account_id}/endorse", response=schemas.Relationship, auth=Scoped("write:accounts"), summary="Feature an account you follow on your profile")
def endorse_v44(request: HttpRequest, account_id: str) -> dict[str, Any]:
    return _change_relationship(request, account_id, account_actions.endorse)


@router.post("/v1/accounts/{account_id}/unendorse", response=schemas.Relationship, auth=Scoped("write:accounts"), summary="Stop featuring an account on your profile (4.4 name)")
def unendorse_v44(request: HttpRequest, account_id: str) -> dict[str, Any]:
    return _change_relationship(request, account_id, account_actions.unendorse)


# --- Follow requests, blocks, mutes, endorsements ----------------------------------------------------


@router.get("/v1/follow_requests", response=list[schemas.Account], auth=Scoped("read:follows"), summary="People asking to follow you")
def follow_requests(request: HttpRequest, response: HttpResponse) -> list[dict[str, Any]]:
    viewer = account_of(request)
    page = account_queries.follow_requests(viewer, page_request(request, default_limit=ACCOUNTS_LIMIT, max_limit=ACCOUNTS_MAX))
    paginated(request, response, page)
    return [entities.account(a) for a in page.items]


@router.post("/v1/follow_requests/{account_id}/authorize", response=schemas.Relationship, auth=Scoped("write:follows"), summary="Accept a follow request")
def authorize_follow_request(request: HttpRequest, account_id: str) -> dict[str, Any]:
    return _change_relationship(request, account_id, lambda viewer, requester: account_actions.accept_follow_request(viewer, requester.pk))


@router.post("/v1/follow_requests/{account_id}/reject", response=schemas.Relationship, auth=Scoped("write:follows"), summary="Reject a follow request")
def reject_follow_request(request: HttpRequest, account_id: str) -> dict[str, Any]:
    return _change_relationship(request, account_id, lambda viewer, requester: account_actions.reject_follow_request(viewer, requester.pk))


@router.get("/v1/blocks", response=list[schemas.Account], auth=Scoped("read:blocks"), summary="Accounts you block")
def blocks(request: HttpRequest, response: HttpResponse) -> list[dict[str, Any]]:
    viewer = account_of(request)
    page = account_queries.blocked_accounts(viewer, page_request(request, default_limit=ACCOUNTS_LIMIT, max_limit=ACCOUNTS_MAX))
    paginated(request, response, page)
    return [entities.account(a) for a in page.items]


class MutedAccount(schemas.Account):
    mute_expires_at: str | None


@router.get("/v1/mutes", response=list[MutedAccount], auth=Scoped("read:mutes"), summary="Accounts you mute")
def mutes(request: HttpRequest, response: HttpResponse) -> list[dict[str, Any]]:
    viewer = account_of(request)
    page = account_queries.muted_accounts(viewer, page_request(request, default_limit=ACCOUNTS_LIMIT, max_limit=ACCOUNTS_MAX))
    paginated(request, response, page)
    return [{**entities.account(a), "mute_expires_at": entities.timestamp(getattr(a, "mute_expires_at", None))} for a in page.items]


@router.get("/v1/endorsements", response=list[schemas.Account], auth=Scoped("read:accounts"), summary="Accounts you feature on your profile")
def endorsements(request: HttpRequest, response: HttpResponse) -> list[dict[str, Any]]:
    viewer = account_of(request)
    page = account_queries.endorsements(viewer, viewer, page_request(request, default_limit=ACCOUNTS_LIMIT, max_limit=ACCOUNTS_MAX))
    paginated(request, response, page)
    return [entities.account(a) for a in page.items]


# --- Bookmarks and favourites -----------------------------------------------------------------------


@router.get("/v1/bookmarks", response=list[schemas.Status], auth=Scoped("read:bookmarks"), summary="Statuses you bookmarked, newest bookmark first")
def bookmarks(request: HttpRequest, response: HttpResponse) -> list[dict[str, Any]]:
    viewer = account_of(request)
    page = post_queries.bookmarks_page(viewer, page_request(request))
    paginated(request, response, page)
    return entities.statuses(page.items, viewer)


@router.get("/v1/favourites", response=list[schemas.Status], auth=Scoped("read:favourites"), summary="Statuses you favourited, newest favourite first")
def favourites(request: HttpRequest, response: HttpResponse) -> list[dict[str, Any]]:
    viewer = account_of(request)
    page = post_queries.favourites_page(viewer, page_request(request))
    paginated(request, response, page)
    return entities.statuses(page.items, viewer)
