"""Posts: the thread page, edit history, compose, edit, delete and the buttons on every card."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rostra.accounts.models import Account
from rostra.core.errors import NotFound, ValidationError
from rostra.core.ids import parse_id
from rostra.portability.queries import moved_post_location
from rostra.posts import actions as posts
from rostra.posts import policies
from rostra.posts.models import Post, Visibility
from rostra.posts.queries import edit_history, get_post, poll_for_post, thread
from rostra.web.cards import Card, card, post_url
from rostra.web.forms import MAX_MEDIA, ComposeForm, EditForm, Upload, collect_uploads
from rostra.web.http import account_required, apply_errors, back, domain_errors, is_htmx, me, safe_next, toast, viewer

# From most to least public: a reply defaults to the narrower of the parent's and the author's default.
AUDIENCE = [Visibility.PUBLIC, Visibility.UNLISTED, Visibility.PRIVATE, Visibility.DIRECT]


def _narrower(a: str, b: str) -> str:
    rank: dict[str, int] = {str(v): i for i, v in enumerate(AUDIENCE)}
    return a if rank.get(a, 0) >= rank.get(b, 0) else b


def _post_id(raw: Any) -> int:
    pid = parse_id(raw)
    if pid is None:
        raise NotFound("No such post.")
    return pid


def _check_author(post: Post, username: str) -> None:
    # The URL names the author (user, or user@domain for a remote one); a post under someone
    # else's name does not exist there.
    if post.author.acct.lower() != username.lower():
        raise NotFound("No such post.")


def _reply_prefix(account: Account | None, post: Post) -> str:
    """A reply starts by mentioning the author and everyone the post mentioned, except yourself."""
    names: list[str] = []
    for person in [post.author, *post.mentions.filter(suspended_at__isnull=True).order_by("username")]:
        if (account is None or person.pk != account.pk) and person.acct not in names:
            names.append(person.acct)
    return "".join(f"@{name} " for name in names)


def _depths(post: Post, descendants: list[Post]) -> dict[int, int]:
    depth = {post.pk: 0}
    for p in descendants:  # depth-first order: a parent always comes before its replies
        depth[p.pk] = min(depth.get(p.in_reply_to_id or 0, 0) + 1, 4)
    return depth


@require_GET
@domain_errors
def thread_page(request: HttpRequest, username: str, post_id: str) -> HttpResponse:
    account = viewer(request)
    post = get_post(account, post_id)
    _check_author(post, username)
    if (moved := moved_post_location(post)) is not None:  # its author moved: the post lives on there
        return HttpResponsePermanentRedirect(moved)
    if post.repost_of_id is not None and post.repost_of is not None:
        return HttpResponseRedirect(post_url(post.repost_of))
    ancestors, descendants = thread(account, post)
    depth = _depths(post, descendants)
    replies: list[Card] = []
    for p in descendants:
        c = card(p, account)
        c.depth = depth.get(p.pk, 1)
        replies.append(c)
    reply_form = None
    if account is not None:
        reply_form = ComposeForm(initial={
            "in_reply_to": post.pk,
            "text": _reply_prefix(account, post),
            "visibility": _narrower(post.visibility, request.user.default_visibility),  # type: ignore[union-attr]
            "idempotency_key": secrets.token_urlsafe(16),
        })
    return render(request, "rostra/thread.html", {
        "main": card(post, account, focus=True),
        "ancestors": [card(p, account) for p in ancestors],
        "replies": replies,
        "reply_form": reply_form,
        "media_slots": range(MAX_MEDIA),
        "author": post.author,
    })


@require_GET
@domain_errors
def history(request: HttpRequest, username: str, post_id: str) -> HttpResponse:
    account = viewer(request)
    post, edits = edit_history(account, post_id)
    _check_author(post, username)
    return render(request, "rostra/history.html", {"main": card(post, account), "post": post, "edits": edits})


def _read_upload(upload: Upload, index: int) -> bytes:
    if upload.file.size and upload.file.size > settings.ROSTRA.media_max_bytes:
        limit = settings.ROSTRA.media_max_bytes // (1024 * 1024)
        raise ValidationError(f"Image {index}: the file is too large; the limit is {limit} MiB.", field="media")
    return upload.file.read()


def _publish(account: Account, form: ComposeForm, uploads: list[Upload]) -> Post:
    """Upload each image, then create the post; if anything fails, the uploads are discarded."""
    if len(uploads) > MAX_MEDIA:
        raise ValidationError(f"A post can have at most {MAX_MEDIA} images; you attached {len(uploads)}.", field="media")
    media_ids: list[int] = []
    try:
        for i, upload in enumerate(uploads, start=1):
            try:
                media = posts.upload_media(account, _read_upload(upload, i), description=upload.description)
            except ValidationError as exc:
                message = exc.message if exc.message.startswith("Image ") else f"Image {i}: {exc.message}"
                raise ValidationError(message, field="media") from None
            media_ids.append(media.pk)
        data = form.cleaned_data
        return posts.create_post(account, posts.Draft(
            text=data["text"],
            spoiler_text=data["spoiler_text"],
            visibility=data["visibility"],
            sensitive=data["sensitive"],
            in_reply_to_id=data["in_reply_to"],
            quote_of_id=data["quote_of"],
            media_ids=media_ids,
            idempotency_key=data["idempotency_key"] or None,
            poll=form.poll_draft(),
        ))
    except Exception:
        posts.discard_media(account, media_ids)  # nothing half-written: no orphan images
        raise


def _compose_context(
    account: Account, form: ComposeForm, media_errors: list[str], compact: bool, poll_errors: list[str] | None = None
) -> dict[str, Any]:
    ctx: dict[str, Any] = {
        "compose_form": form, "media_errors": media_errors, "compact": compact, "media_slots": range(MAX_MEDIA),
        "poll_errors": poll_errors or [],
    }
    data = form.data if form.is_bound else form.initial
    for key, name in (("in_reply_to", "reply_to"), ("quote_of", "quoting")):
        pid = parse_id(str(data.get(key) or ""))
        if pid is not None:
            try:
                ctx[name] = card(get_post(account, pid), account)
            except NotFound:
                pass  # shown as an error on submit
    return ctx


@require_http_methods(["GET", "POST"])
@domain_errors
@account_required
def compose(request: HttpRequest) -> HttpResponse:
    account = me(request)
    user = request.user
    compact = request.POST.get("compact") == "1"
    if request.method == "GET":
        initial: dict[str, Any] = {"visibility": user.default_visibility, "sensitive": user.default_sensitive, "idempotency_key": secrets.token_urlsafe(16)}  # type: ignore[union-attr]
        if request.GET.get("reply_to"):
            parent = get_post(account, request.GET["reply_to"])  # NotFound: 404, like the post's own page
            initial.update(in_reply_to=parent.pk, text=_reply_prefix(account, parent), visibility=_narrower(parent.visibility, initial["visibility"]))
        if request.GET.get("quote"):
            quoted = get_post(account, request.GET["quote"])
            initial["quote_of"] = quoted.pk
        form = ComposeForm(initial=initial)
        return render(request, "rostra/compose.html", {**_compose_context(account, form, [], False), "nav": "compose", "next": safe_next(request, "")})

    # Parse
    form = ComposeForm(request.POST)
    uploads = collect_uploads(request)
    media_errors: list[str] = []
    poll_errors: list[str] = []
    if form.is_valid():
        # Act
        try:
            post = _publish(account, form, uploads)
        except ValidationError as exc:
            # Image errors go next to the image inputs; the rest next to their fields.
            media_keys = ("media", "file", "description")
            media_errors = [m for f in media_keys for m in exc.errors.get(f, [])]
            poll_errors = exc.errors.get("poll", [])
            rest = {k: v for k, v in exc.errors.items() if k not in (*media_keys, "poll")}
            if rest:
                apply_errors(form, ValidationError(exc.message, errors=rest))
        else:
            # Render
            if is_htmx(request):
                fresh = ComposeForm(initial={"visibility": form.cleaned_data["visibility"], "idempotency_key": secrets.token_urlsafe(16)})
                ctx = {**_compose_context(account, fresh, [], compact), "enhance": True, "next": safe_next(request, "")}
                ctx["new_card"] = card(get_post(account, post.pk), account)
                return toast(render(request, "rostra/partials/compose_box.html", ctx), "Posted.")
            messages.success(request, "Your post is published." if post.moderation_state == "published" else "Your post was saved and is waiting for review.")
            return HttpResponseRedirect(safe_next(request, post_url(post)))
    template = "rostra/partials/compose_box.html" if is_htmx(request) else "rostra/compose.html"
    ctx = {**_compose_context(account, form, media_errors, compact, poll_errors), "nav": "compose", "next": safe_next(request, ""), "enhance": is_htmx(request)}
    return render(request, template, ctx, status=400)


def _own_editable(account: Account, post_id: str) -> Post:
    post = get_post(account, post_id)
    if not policies.can_edit(account, post):
        raise NotFound("No such post.")  # someone else's post answers like a missing one, as in the domain
    return post


@require_http_methods(["GET", "POST"])
@domain_errors
@account_required
def edit(request: HttpRequest, post_id: str) -> HttpResponse:
    account = me(request)
    post = _own_editable(account, post_id)
    media = list(post.media.all())
    if request.method == "POST":
        form = EditForm(request.POST)
        if form.is_valid():
            keep = [m.pk for m in media if not request.POST.get(f"remove_{m.pk}")]
            descriptions = {m.pk: request.POST.get(f"alt_{m.pk}", m.description) for m in media}
            try:
                posts.edit_post(
                    account, post.pk, text=form.cleaned_data["text"], spoiler_text=form.cleaned_data["spoiler_text"],
                    sensitive=form.cleaned_data["sensitive"], media_ids=keep, media_descriptions=descriptions,
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, "Your post is updated.")
                return HttpResponseRedirect(post_url(post))
        status = 400
    else:
        form = EditForm(initial={"text": post.text, "spoiler_text": post.spoiler_text, "sensitive": post.sensitive})
        status = 200
    return render(request, "rostra/edit.html", {"form": form, "post": post, "media": media, "main": card(post, account)}, status=status)


@require_http_methods(["GET", "POST"])
@domain_errors
@account_required
def delete(request: HttpRequest, post_id: str) -> HttpResponse:
    account = me(request)
    if request.method == "GET":
        post = get_post(account, post_id)
        if not policies.can_delete(account, post):
            raise NotFound("No such post.")
        return render(request, "rostra/delete_post.html", {"main": card(post, account), "next": safe_next(request, "")})
    pid = _post_id(post_id)
    posts.delete_post(account, pid)
    # Deleted from its own page (or its history): that page is gone, so go to the profile.
    came_from = urlsplit(safe_next(request, "")).path.rstrip("/").split("/")
    own_page = str(pid) in came_from[-2:]
    destination = f"/@{account.username}" if own_page else safe_next(request, f"/@{account.username}")
    if is_htmx(request):
        response = HttpResponse("")
        if own_page:
            response["HX-Redirect"] = destination
        return toast(response, "Post deleted.")
    messages.success(request, "Your post is deleted.")
    return HttpResponseRedirect(destination)


def _button(act: Callable[[Account, int], object], done: str = "") -> Callable[[HttpRequest, str], HttpResponse]:
    """A card button: act on the post, then redraw the buttons (htmx) or go back (no JavaScript)."""

    @require_POST
    @domain_errors
    @account_required
    def view(request: HttpRequest, post_id: str) -> HttpResponse:
        account = me(request)
        pid = _post_id(post_id)
        act(account, pid)
        if is_htmx(request):
            c = card(get_post(account, pid), account)
            response = render(request, "rostra/partials/post_actions.html", {"c": c})
            return toast(response, done) if done else response
        if done:
            messages.success(request, done)
        return back(request)

    return view


like = _button(posts.like)
unlike = _button(posts.unlike)
repost = _button(posts.repost, "Reposted.")
unrepost = _button(posts.unrepost)
bookmark = _button(posts.bookmark, "Bookmarked.")
unbookmark = _button(posts.unbookmark)


@require_POST
@domain_errors
@account_required
def detach_quote(request: HttpRequest, post_id: str) -> HttpResponse:
    account = me(request)
    pid = _post_id(post_id)
    posts.detach_quote(account, pid)
    if is_htmx(request):
        c = card(get_post(account, pid), account)
        return toast(render(request, "rostra/partials/post_card.html", {"c": c}), "Your post is no longer shown in this quote.")
    messages.success(request, "Your post is no longer shown in this quote.")
    return back(request)


@require_POST
@domain_errors
@account_required
def vote(request: HttpRequest, post_id: str) -> HttpResponse:
    """Vote on a post's poll; redraw the poll (htmx) or go back to the page (no JavaScript)."""
    # Parse
    account = me(request)
    choices = [int(c) for c in request.POST.getlist("choice") if c.isdigit() and len(c) < 3]
    # Authorise: the door (get_post), then the poll on that post
    post = get_post(account, post_id)
    shown = post.repost_of if post.repost_of_id and post.repost_of else post
    poll = poll_for_post(account, shown)
    if poll is None:
        raise NotFound("No such poll.")
    # Act
    try:
        posts.vote(account, poll.id, choices)
    except ValidationError as exc:
        if is_htmx(request):
            response = HttpResponse(status=422)
            response["HX-Reswap"] = "none"
            return toast(response, exc.message)
        messages.warning(request, exc.message)
        return back(request)
    # Render
    if is_htmx(request):
        c = card(get_post(account, shown.pk), account)
        return toast(render(request, "rostra/partials/poll.html", {"c": c}), "Vote counted.")
    messages.success(request, "Your vote is counted.")
    return back(request)
