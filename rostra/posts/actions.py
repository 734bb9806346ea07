"""Every write to posts: compose, edit, delete, repost, quote, like, bookmark, media.

The path of a post (see docs/architecture.md): validate everything -> screen (the moderation
gate, inside this request) -> commit the post, its tags, mentions, media links and an event in
one transaction -> after commit the pipeline fans out and notifies, with ids only.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q
from django.db.models.functions import Greatest

from rostra.accounts import surge
from rostra.accounts.models import Account, Block
from rostra.core import events
from rostra.core.clock import now
from rostra.core.errors import NotFound, PermissionDenied, ValidationError
from rostra.core.images import delete_files, store_image
from rostra.core.mediastore import media_store
from rostra.core.prepared import Prepared
from rostra.core.text import Parsed, parse, render
from rostra.moderation.gate import GateDecision, screen_post
from rostra.moderation.gate import record as record_decision
from rostra.posts import policies, remote_mentions
from rostra.posts.models import (
    Bookmark,
    Hashtag,
    IdempotencyKey,
    Like,
    Media,
    Mention,
    ModerationState,
    Pin,
    Poll,
    Post,
    PostEdit,
    QuoteState,
    ThreadMute,
    Visibility,
)
from rostra.posts.polls import PollDraft, check_poll, vote, write_poll
from rostra.posts.queries import visible_post

MAX_MEDIA = 4
MAX_SPOILER = 500
MAX_ALT_TEXT = 1500
MAX_HASHTAGS = 30
MAX_MENTIONS = 50
IDEMPOTENCY_TTL_S = 3600


def _limit() -> int:
    return int(settings.ROSTRA.max_post_chars)


def resolve_mention_url(username: str, domain: str) -> str | None:
    if domain and domain != settings.ROSTRA.domain:
        return None  # remote accounts are linked once federation can resolve them
    account = Account.objects.filter(username__iexact=username, domain="", suspended_at__isnull=True).first()
    return f"/@{account.username}" if account else None


def _mentioned_accounts(usernames: Sequence[tuple[str, str]], *, look_up: bool = True) -> list[Account]:
    """The accounts the text mentions: local ones, and remote ones known here or found now
    (``remote_mentions``: may store a remote account, never anything of the post).
    ``look_up=False``: remote ones only if known here (a restored archive looks nothing up)."""
    local = [u for u, d in usernames if not d or d == settings.ROSTRA.domain][:MAX_MENTIONS]
    remote = [(u, d) for u, d in usernames if d and d != settings.ROSTRA.domain][:MAX_MENTIONS]
    found: list[Account] = []
    if local:
        q = Q()
        for name in local:
            q |= Q(username__iexact=name)
        found = list(Account.objects.filter(q, domain="", suspended_at__isnull=True))
    if remote:
        remote_found = remote_mentions.find(remote) if look_up else remote_mentions.known(remote)
        found += [a for a in remote_found.values() if all(a.pk != f.pk for f in found)]
    return found[:MAX_MENTIONS]


def _render(text: str, mentions: list[Account]) -> str:
    by_name = {a.username.lower(): f"/@{a.username}" for a in mentions if a.is_local}
    remote = {(a.username.lower(), a.domain.lower()): a for a in mentions if not a.is_local}

    def resolve(username: str, domain: str) -> str | None:
        if domain and domain != settings.ROSTRA.domain:
            account = remote.get((username.lower(), domain.lower()))
            if account is None:  # a handle whose server is not the actor's host (WebFinger's domain)
                named = [a for a in remote.values() if a.username.lower() == username.lower()]
                account = named[0] if len(named) == 1 else None
            return remote_mentions.profile_url(account) if account is not None else None
        return by_name.get(username.lower())

    return render(text, resolve)


def _check_text(text: str, spoiler_text: str, has_media: bool) -> tuple[str, str]:
    text = (text or "").replace("\x00", "").strip()
    spoiler_text = (spoiler_text or "").replace("\x00", "").strip()
    if not text and not has_media:
        raise ValidationError("Write something, or attach an image.", field="text")
    if len(text) > _limit():
        raise ValidationError(f"A post is at most {_limit():,} characters; this one has {len(text):,}.", field="text")
    if len(spoiler_text) > MAX_SPOILER:
        raise ValidationError(f"A content warning is at most {MAX_SPOILER} characters.", field="spoiler_text")
    return text, spoiler_text


def _check_media(author: Account, media_ids: Sequence[int], post: Post | None = None) -> list[Media]:
    ids = list(dict.fromkeys(media_ids))
    if not ids:
        return []
    if len(ids) > MAX_MEDIA:
        raise ValidationError(f"A post can have at most {MAX_MEDIA} images.", field="media")
    found = {m.pk: m for m in Media.objects.filter(pk__in=ids, owner=author)}
    for mid in ids:
        m = found.get(mid)
        # Someone else's media answers like media that does not exist.
        if m is None or (m.post_id is not None and (post is None or m.post_id != post.pk)):
            raise ValidationError("One of the attached images was not found; upload it again.", field="media")
    if ids and Media.objects.filter(pk__in=ids, scheduled_posts__isnull=False).exists():
        # Reserved by a scheduled post until it is published or cancelled (publishing frees it first).
        raise ValidationError("One of the attached images belongs to a scheduled post.", field="media")
    return [found[mid] for mid in ids]


def _set_tags(post: Post, names: list[str], when: datetime | None, *, new: bool = False) -> None:
    """The post's hashtags become ``names`` (created when first used). ``new``: the post was
    inserted in this transaction and has none yet, so nothing is read or removed first."""
    names = names[:MAX_HASHTAGS]
    if new:
        _tag_new_post(post, list(dict.fromkeys(names)), when)
        return
    existing = {h.name: h for h in Hashtag.objects.filter(name__in=names)}
    for name in names:
        if name not in existing:
            existing[name] = _new_hashtag(name)
    post.hashtags.set([existing[n] for n in names])
    Hashtag.objects.filter(name__in=names).update(last_used_at=when)


def _new_hashtag(name: str) -> Hashtag:
    try:
        with transaction.atomic():
            return Hashtag.objects.create(name=name, display_name=name)
    except IntegrityError:  # another post created it meanwhile
        return Hashtag.objects.get(name=name)


_HASHTAG_ID = Prepared("a hashtag's id by name", lambda name: Hashtag.objects.filter(name=name).values_list("pk"))


def _tag_new_post(post: Post, names: list[str], when: datetime | None) -> None:
    """Every new post with hashtags comes here: a prepared lookup per name and two plain
    statements (the ORM spent ~1.5 ms a post building the four it took before)."""
    if not names:
        return
    ids = []
    for name in names:
        found = _HASHTAG_ID.rows(name=name)
        ids.append(found[0][0] if found else _new_hashtag(name).pk)
    through, tags = Post.hashtags.through._meta.db_table, Hashtag._meta.db_table
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:  # the models' own table names; every value a parameter
        cursor.executemany(f'INSERT INTO "{through}" ("post_id", "hashtag_id") VALUES (%s, %s)', [(post.pk, i) for i in ids])  # noqa: S608
        cursor.execute(
            f'UPDATE "{tags}" SET "last_used_at" = %s WHERE "id" IN ({marks})',  # noqa: S608
            [connection.ops.adapt_datetimefield_value(when), *ids],
        )


_STRICTNESS: dict[str, int] = {"published": 0, "limited": 1, "held": 2, "removed": 3}


def _held(account: Account) -> bool:
    return account.hold_posts_until is not None and account.hold_posts_until > now()


@dataclass
class Draft:
    text: str = ""
    visibility: str = Visibility.PUBLIC
    spoiler_text: str = ""
    sensitive: bool = False
    in_reply_to_id: int | None = None
    quote_of_id: int | None = None
    media_ids: Sequence[int] = ()
    language: str = ""
    idempotency_key: str | None = None
    poll: PollDraft | None = None


@dataclass
class CheckedDraft:
    """A draft that passed every check ``create_post`` makes before screening."""

    text: str
    spoiler: str
    media: list[Media]
    poll_options: list[str] | None
    parent: Post | None
    quoted: Post | None
    mentions: list[Account]  # including the person replied to
    parsed: Parsed


def check_draft(author: Account, draft: Draft) -> CheckedDraft:
    """Everything a new post must satisfy before it is screened: visibility, text, media, poll,
    the post replied to and the post quoted (through the door), and mentions for direct posts.
    Writes nothing; raises ValidationError / NotFound. Scheduled posts are checked with it too."""
    if draft.visibility not in Visibility.values:
        raise ValidationError("Choose who can see this post: public, unlisted, followers only or mentioned people only.", field="visibility")
    text, spoiler = _check_text(draft.text, draft.spoiler_text, bool(draft.media_ids))
    media = _check_media(author, draft.media_ids)
    poll_options = check_poll(draft.poll, has_media=bool(media)) if draft.poll is not None else None
    parent = None
    if draft.in_reply_to_id is not None:
        parent = visible_post(author, draft.in_reply_to_id, "author", original_only=True)
        if parent is None:
            raise NotFound("The post you are replying to is not available.")
    quoted = None
    if draft.quote_of_id is not None:
        quoted = visible_post(author, draft.quote_of_id, "author")
        if quoted is None:
            raise NotFound("The post you are quoting is not available.")
        if not policies.can_quote(author, quoted) or Block.objects.filter(account=quoted.author, target=author).exists():
            raise ValidationError("That post cannot be quoted.", field="quote_of")
    parsed = parse(text)
    mentions = _mentioned_accounts(parsed.mentions)
    if parent is not None and parent.author_id != author.pk and all(m.pk != parent.author_id for m in mentions):
        mentions.append(parent.author)  # a reply always reaches the person replied to
    return CheckedDraft(text, spoiler, media, poll_options, parent, quoted, mentions, parsed)


def _default_language(author: Account) -> str:
    """The language a post gets when its draft names none: the author's default posting language
    (Mastodon's ``source[language]``), "" when they chose none."""
    user = author.user if author.user_id is not None else None
    return user.default_language if user is not None else ""


def create_post(author: Account, draft: Draft) -> Post:
    """Validate, screen, and commit a new post. Raises ValidationError/NotFound; writes nothing then."""
    if author.suspended_at is not None:
        raise PermissionDenied("Your account is suspended.")
    if author.moved_to_id is not None:  # rostra.accounts.moving: a moved account posts from its new home
        raise PermissionDenied("This account has moved to another account and can no longer post. Cancel the redirect in Settings → Move to post here again.")
    idem_key = hashlib.sha256(draft.idempotency_key.encode()).hexdigest() if draft.idempotency_key else None
    if idem_key:
        earlier = _post_for_key(author, idem_key)
        if earlier is not None:
            return earlier
    checked = check_draft(author, draft)
    text = checked.text
    surging = surge.is_active()
    if surging:
        surge.check_new_account(author, "post")  # surge mode: a lower posting limit for new accounts

    # Screen inside the request, before anyone else can see it.
    decision = screen_post(
        author_id=author.pk,
        text=text,
        spoiler_text=checked.spoiler,
        account_created_at=author.created_at,
        account_held=_held(author),
        surge=surging,
    )
    if decision.refused:
        with transaction.atomic():
            record_decision(decision, post_id=None, account_id=author.pk, source="create")
        raise ValidationError(f"This post breaks the rule on {decision.category.replace('_', ' ')} and was not published. {decision.reason}", field="text")
    created = now()
    try:
        return _commit_post(author, draft, checked, decision, created, idem_key)
    except IntegrityError:
        # Another request with the same Idempotency-Key committed first: its post is the answer.
        if idem_key and (earlier := _post_for_key(author, idem_key)) is not None:
            return earlier
        raise


def _post_for_key(author: Account, key: str) -> Post | None:
    row = IdempotencyKey.objects.filter(author=author, key=key, created_at__gte=now() - timedelta(seconds=IDEMPOTENCY_TTL_S)).first()
    return Post.objects.filter(pk=row.post_id).first() if row is not None else None


def _commit_post(author: Account, draft: Draft, checked: CheckedDraft, decision: GateDecision, created: datetime, idem_key: str | None) -> Post:
    text, spoiler, media, poll_options = checked.text, checked.spoiler, checked.media, checked.poll_options
    parent, quoted, mentions, parsed = checked.parent, checked.quoted, checked.mentions, checked.parsed
    with transaction.atomic():
        if idem_key:
            # An expired key of the same value makes way; a live one (a racing retry) fails the
            # unique constraint below and the whole post rolls back.
            IdempotencyKey.objects.filter(author=author, key=idem_key, created_at__lt=created - timedelta(seconds=IDEMPOTENCY_TTL_S)).delete()
        post = Post(
            author=author,
            text=text,
            content_html=_render(text, mentions),
            spoiler_text=spoiler,
            sensitive=draft.sensitive or bool(spoiler),
            visibility=draft.visibility,
            language=(draft.language or _default_language(author))[:16],
            in_reply_to=parent,
            in_reply_to_account=parent.author if parent else None,
            quote_of=quoted,
            quote_state=QuoteState.ACCEPTED if quoted else "",
            moderation_state=decision.state,
            moderation_label=decision.label,
            created_at=created,
        )
        post.thread_id = (parent.thread_id or parent.pk) if parent else post.pk  # the id is chosen before the insert
        post.save(force_insert=True)
        record_decision(decision, post_id=post.pk, account_id=author.pk, source="create", excerpt=text)
        _set_tags(post, parsed.hashtags, created, new=True)
        Mention.objects.bulk_create([Mention(post=post, account=m) for m in mentions if m.pk != author.pk])
        for position, m in enumerate(media):
            Media.objects.filter(pk=m.pk).update(post=post, position=position)
        if draft.poll is not None and poll_options is not None:
            write_poll(post, draft.poll, poll_options, created)
        Account.objects.filter(pk=author.pk).update(posts_count=F("posts_count") + 1, last_status_at=created)
        if parent is not None:
            Post.objects.filter(pk=parent.pk).update(replies_count=F("replies_count") + 1)
        if quoted is not None:
            Post.objects.filter(pk=quoted.pk).update(quotes_count=F("quotes_count") + 1)
        if idem_key:
            IdempotencyKey.objects.create(author=author, key=idem_key, post=post, created_at=created)
        events.emit("post.created", post_id=post.pk)
    return post


@dataclass
class RemoteDraft:
    """A post as it arrived from another server (federation's Create/Update of a Note), its HTML
    already sanitised and its text derived from it; mentions are local accounts only."""

    text: str
    content_html: str
    spoiler_text: str = ""
    sensitive: bool = False
    visibility: str = Visibility.PUBLIC
    in_reply_to_id: int | None = None
    mentions: Sequence[Account] = ()
    hashtags: Sequence[str] = ()
    language: str = ""
    created_at: datetime | None = None


def _screen_remote(author: Account, draft: RemoteDraft, *, post_id: int | None, remember: bool = True) -> GateDecision:
    """The same gate as a local post; a refusal is recorded (source "remote") and raised."""
    decision = screen_post(
        author_id=author.pk,
        text=draft.text,
        spoiler_text=draft.spoiler_text,
        account_created_at=author.created_at,
        account_held=_held(author),
        remember=remember,
    )
    if decision.refused:
        with transaction.atomic():
            record_decision(decision, post_id=post_id, account_id=author.pk, source="remote")
        raise ValidationError(f"This post breaks the rule on {decision.category.replace('_', ' ')} and was refused. {decision.reason}", field="text")
    return decision


def create_remote_post(author: Account, draft: RemoteDraft) -> Post:
    """A remote account's post, through the same moderation gate as a local one (held, labelled or
    refused alike). Raises ValidationError on a refusal; writes nothing but the decision then."""
    if author.is_local:
        raise ValidationError("Only remote accounts' posts arrive this way.")
    if author.suspended_at is not None:
        raise PermissionDenied("This account is suspended.")
    if draft.visibility not in Visibility.values:
        raise ValidationError("Unknown visibility.", field="visibility")
    decision = _screen_remote(author, draft, post_id=None)
    parent = Post.objects.filter(pk=draft.in_reply_to_id, repost_of__isnull=True).first() if draft.in_reply_to_id else None
    created = min(draft.created_at or now(), now())
    with transaction.atomic():
        post = Post(
            author=author,
            text=draft.text,
            content_html=draft.content_html,
            spoiler_text=draft.spoiler_text[:MAX_SPOILER],
            sensitive=draft.sensitive or bool(draft.spoiler_text),
            visibility=draft.visibility,
            language=draft.language[:16],
            in_reply_to=parent,
            in_reply_to_account_id=parent.author_id if parent else None,
            moderation_state=decision.state,
            moderation_label=decision.label,
            created_at=created,
        )
        post.thread_id = (parent.thread_id or parent.pk) if parent else post.pk  # the id is chosen before the insert
        post.save(force_insert=True)
        record_decision(decision, post_id=post.pk, account_id=author.pk, source="remote", excerpt=draft.text)
        _set_tags(post, [h.lower() for h in draft.hashtags], created, new=True)
        Mention.objects.bulk_create([Mention(post=post, account=m) for m in draft.mentions[:MAX_MENTIONS] if m.pk != author.pk])
        Account.objects.filter(pk=author.pk).update(posts_count=F("posts_count") + 1, last_status_at=created)
        if parent is not None:
            Post.objects.filter(pk=parent.pk).update(replies_count=F("replies_count") + 1)
        events.emit("post.created", post_id=post.pk)
    return post


def edit_remote_post(author: Account, post_id: int, draft: RemoteDraft) -> Post:
    """A remote author's edit of their own post: screened again, the old version kept as history.
    Like a local edit, it can make the post stricter but never relaxes a decision."""
    post = _own_post(author, post_id)
    if post.is_repost:
        raise ValidationError("A repost cannot be edited.")
    decision = _screen_remote(author, draft, post_id=post.pk, remember=False)
    with transaction.atomic():
        _keep_version(post, [])
        state_before = post.moderation_state
        post.text, post.content_html = draft.text, draft.content_html
        post.spoiler_text = draft.spoiler_text[:MAX_SPOILER]
        post.sensitive = draft.sensitive or bool(draft.spoiler_text)
        post.edited_at = now()
        if _STRICTNESS[decision.state] > _STRICTNESS.get(post.moderation_state, 0):
            post.moderation_state = decision.state
        if decision.label and not post.moderation_label:
            post.moderation_label = decision.label
        post.save(update_fields=["text", "content_html", "spoiler_text", "sensitive", "edited_at", "moderation_state", "moderation_label"])
        record_decision(decision, post_id=post.pk, account_id=author.pk, source="remote", excerpt=draft.text)
        _set_tags(post, [h.lower() for h in draft.hashtags], post.edited_at)
        existing = set(Mention.objects.filter(post=post).values_list("account_id", flat=True))
        Mention.objects.bulk_create([Mention(post=post, account=m) for m in draft.mentions[:MAX_MENTIONS] if m.pk not in existing and m.pk != author.pk])
        events.emit("post.updated", post_id=post.pk)
        if post.moderation_state != state_before:
            events.emit("post.moderated", post_id=post.pk, before=str(state_before), after=str(post.moderation_state))
    return post


def prune_idempotency_keys() -> int:
    """Forget Idempotency-Keys older than their hour. Run periodically."""
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=now() - timedelta(seconds=IDEMPOTENCY_TTL_S)).delete()
    return deleted


def _keep_version(post: Post, media_descriptions: list[str]) -> None:
    """Keep the post as it is now in its edit history, before an edit (local or remote) changes it."""
    PostEdit.objects.create(
        post=post,
        text=post.text,
        content_html=post.content_html,
        spoiler_text=post.spoiler_text,
        sensitive=post.sensitive,
        media_descriptions=media_descriptions,
        created_at=post.edited_at or post.created_at,
    )


def _own_post(account: Account, post_id: int) -> Post:
    post = Post.objects.filter(pk=post_id, author=account).first()
    if post is None:
        raise NotFound("No such post.")  # someone else's post answers like a missing one
    return post


def edit_post(
    editor: Account,
    post_id: int,
    *,
    text: str,
    spoiler_text: str = "",
    sensitive: bool = False,
    media_ids: Sequence[int] | None = None,
    media_descriptions: dict[int, str] | None = None,
    language: str | None = None,
) -> Post:
    """Change a post's text, warning and images (and, given, its language). Its poll (if any)
    stays exactly as it is."""
    post = _own_post(editor, post_id)
    if post.is_repost:
        raise ValidationError("A repost cannot be edited.")
    current_media = list(post.media.all())
    new_media = current_media if media_ids is None else _check_media(editor, media_ids, post)
    if new_media and new_media != current_media and Poll.objects.filter(post=post).exists():
        raise ValidationError("A post can have images or a poll, not both.", field="media")
    text, spoiler = _check_text(text, spoiler_text, bool(new_media))
    descriptions = media_descriptions or {}
    if any(len(d) > MAX_ALT_TEXT for d in descriptions.values()):
        raise ValidationError(f"Alt text is at most {MAX_ALT_TEXT} characters.", field="description")
    parsed = parse(text)
    mentions = _mentioned_accounts(parsed.mentions)
    decision = screen_post(
        author_id=editor.pk, text=text, spoiler_text=spoiler, account_created_at=editor.created_at, account_held=_held(editor), remember=False
    )
    if decision.refused:
        with transaction.atomic():
            record_decision(decision, post_id=post.pk, account_id=editor.pk, source="edit")
        raise ValidationError(f"This edit breaks the rule on {decision.category.replace('_', ' ')} and was not saved. {decision.reason}", field="text")
    with transaction.atomic():
        _keep_version(post, [m.description for m in current_media])
        post.text = text
        post.content_html = _render(text, mentions)
        post.spoiler_text = spoiler
        post.sensitive = sensitive or bool(spoiler)
        post.edited_at = now()
        if language is not None:
            post.language = language[:16]
        # An edit can make a post stricter (held, limited, labelled) but never undo a moderator's
        # or an earlier screen's decision: only review or an appeal relaxes it.
        record_it = False
        state_before = post.moderation_state
        if _STRICTNESS[decision.state] > _STRICTNESS.get(post.moderation_state, 0):
            post.moderation_state = decision.state
            record_it = True
        if decision.label and not post.moderation_label:
            post.moderation_label = decision.label
            record_it = True
        # Only what an edit changes: a whole-row save would undo likes, replies or reposts
        # counted by other requests since this one read the post.
        post.save(update_fields=["text", "content_html", "spoiler_text", "sensitive", "edited_at", "moderation_state", "moderation_label", "language"])
        if record_it:
            record_decision(decision, post_id=post.pk, account_id=editor.pk, source="edit", excerpt=text)
        else:
            record_decision(replace(decision, action="publish"), post_id=post.pk, account_id=editor.pk, source="edit")
        _set_tags(post, parsed.hashtags, post.edited_at)
        keep = {m.pk for m in new_media}
        dropped = [m for m in current_media if m.pk not in keep]
        for position, m in enumerate(new_media):
            Media.objects.filter(pk=m.pk).update(post=post, position=position, description=descriptions.get(m.pk, m.description))
        files = [f for m in dropped for f in (m.file, m.thumbnail)]
        Media.objects.filter(pk__in=[m.pk for m in dropped]).delete()
        existing = set(Mention.objects.filter(post=post).values_list("account_id", flat=True))
        Mention.objects.bulk_create([Mention(post=post, account=m) for m in mentions if m.pk not in existing and m.pk != editor.pk])
        events.emit("post.updated", post_id=post.pk)
        if post.moderation_state != state_before:
            events.emit("post.moderated", post_id=post.pk, before=str(state_before), after=str(post.moderation_state))
        transaction.on_commit(lambda: delete_files(media_store(), files))
    return post


def delete_post(actor: Account, post_id: int, *, keep_media: bool = False) -> None:
    """Delete for real: the row, its edit history, its media files, its reposts and timeline rows.

    ``keep_media``: the images stay as unattached uploads of their owner (a client's "delete and
    redraft" attaches them to the new post; ``discard_media`` removes them)."""
    post = _own_post(actor, post_id)
    with transaction.atomic():
        files = [] if keep_media else [f for m in Media.objects.filter(post=post) for f in (m.file, m.thumbnail)]
        repost_authors = list(Post.objects.filter(repost_of=post).values_list("author_id", flat=True))
        if post.in_reply_to_id:
            Post.objects.filter(pk=post.in_reply_to_id, replies_count__gt=0).update(replies_count=F("replies_count") - 1)
        if post.repost_of_id:
            Post.objects.filter(pk=post.repost_of_id, reposts_count__gt=0).update(reposts_count=F("reposts_count") - 1)
        if post.quote_of_id:
            Post.objects.filter(pk=post.quote_of_id, quotes_count__gt=0).update(quotes_count=F("quotes_count") - 1)
        if keep_media:
            # Unattached from now: kept a day for a redraft, then discard_stale_uploads removes them.
            Media.objects.filter(post=post).update(post=None, position=0, created_at=now())
        else:
            Media.objects.filter(post=post).delete()
        post.delete()
        Account.objects.filter(pk=actor.pk, posts_count__gt=0).update(posts_count=F("posts_count") - 1)
        Account.objects.filter(pk__in=repost_authors, posts_count__gt=0).update(posts_count=F("posts_count") - 1)
        # public: anyone could fetch it, so federation answers its URL 410 Gone from now on.
        public = (
            post.repost_of_id is None
            and post.visibility in (Visibility.PUBLIC, Visibility.UNLISTED)
            and post.moderation_state in (ModerationState.PUBLISHED, ModerationState.LIMITED)
        )
        events.emit("post.deleted", post_id=post_id, author_id=actor.pk, repost_of_id=post.repost_of_id, public=public)
        transaction.on_commit(lambda: delete_files(media_store(), files))


def repost(account: Account, post_id: int) -> Post:
    original = visible_post(account, post_id, "author")
    if original is None:
        raise NotFound("No such post.")
    if original.is_repost:
        original = visible_post(account, original.repost_of_id, "author")
        if original is None:
            raise NotFound("No such post.")
    if not policies.can_repost(account, original):
        raise ValidationError("Only public and unlisted posts can be reposted.")
    existing = Post.objects.filter(author=account, repost_of=original).first()
    if existing:
        return existing
    created = now()
    try:
        with transaction.atomic():
            rp = Post.objects.create(
                author=account,
                repost_of=original,
                visibility=original.visibility,
                created_at=created,
                moderation_state=ModerationState.PUBLISHED,
            )
            Post.objects.filter(pk=original.pk).update(reposts_count=F("reposts_count") + 1)
            Account.objects.filter(pk=account.pk).update(posts_count=F("posts_count") + 1, last_status_at=created)
            events.emit("post.created", post_id=rp.pk)
    except IntegrityError:  # a double click raced us; the first one won
        return Post.objects.get(author=account, repost_of=original)
    return rp


def unrepost(account: Account, post_id: int) -> None:
    rp = Post.objects.filter(author=account).filter(Q(repost_of_id=post_id) | Q(pk=post_id, repost_of__isnull=False)).first()
    if rp is None:
        return
    delete_post(account, rp.pk)


def like(account: Account, post_id: int) -> Post:
    post = visible_post(account, post_id)
    if post is None:
        raise NotFound("No such post.")
    if post.is_repost:
        return like(account, post.repost_of_id)  # type: ignore[arg-type]
    try:
        with transaction.atomic():
            Like.objects.create(account=account, post=post)
            Post.objects.filter(pk=post.pk).update(likes_count=F("likes_count") + 1)
            events.emit("like.created", account_id=account.pk, post_id=post.pk)
    except IntegrityError:
        pass  # already liked
    return post


def unlike(account: Account, post_id: int) -> None:
    with transaction.atomic():
        target = Post.objects.filter(pk=post_id).values_list("repost_of_id", flat=True).first()
        pid = target or post_id
        deleted, _ = Like.objects.filter(account=account, post_id=pid).delete()
        if deleted:
            Post.objects.filter(pk=pid, likes_count__gt=0).update(likes_count=F("likes_count") - 1)
            events.emit("like.removed", account_id=account.pk, post_id=pid)  # a remote author is sent Undo{Like}


def bookmark(account: Account, post_id: int) -> None:
    post = visible_post(account, post_id)
    if post is None:
        raise NotFound("No such post.")
    pid = post.repost_of_id or post.pk
    Bookmark.objects.get_or_create(account=account, post_id=pid)


def unbookmark(account: Account, post_id: int) -> None:
    target = Post.objects.filter(pk=post_id).values_list("repost_of_id", flat=True).first()
    Bookmark.objects.filter(account=account, post_id=target or post_id).delete()


def detach_quote(quoted_author: Account, quoting_post_id: int) -> None:
    """The quoted author removes their post from someone's quote of it."""
    post = Post.objects.filter(pk=quoting_post_id, quote_of__author=quoted_author).first()
    if post is None:
        raise NotFound("No such quote of your post.")
    if post.quote_state == QuoteState.DETACHED:
        return
    with transaction.atomic():
        Post.objects.filter(pk=post.pk).update(quote_state=QuoteState.DETACHED)
        Post.objects.filter(pk=post.quote_of_id or 0, quotes_count__gt=0).update(quotes_count=F("quotes_count") - 1)
        events.emit("post.updated", post_id=post.pk)


def _check_focus(focus: tuple[float, float]) -> tuple[float, float]:
    x, y = focus
    if not (-1.0 <= x <= 1.0 and -1.0 <= y <= 1.0):
        raise ValidationError("Focus values are between -1.0 and 1.0.", field="focus")
    return x, y


def upload_media(owner: Account, data: bytes, *, description: str = "", focus: tuple[float, float] | None = None) -> Media:
    if len(description or "") > MAX_ALT_TEXT:
        raise ValidationError(f"Alt text is at most {MAX_ALT_TEXT} characters.", field="description")
    fx, fy = _check_focus(focus) if focus is not None else (0.0, 0.0)
    surge.check_new_account(owner, "media")  # surge mode: a lower upload limit for new accounts
    cfg = settings.ROSTRA
    stored = store_image(media_store(), data, max_bytes=cfg.media_max_bytes, max_pixels=cfg.media_max_pixels)
    try:
        return Media.objects.create(
            owner=owner,
            file=stored.file,
            thumbnail=stored.thumbnail,
            content_type=stored.content_type,
            width=stored.width,
            height=stored.height,
            size=stored.size,
            description=(description or "").strip(),
            focus_x=fx,
            focus_y=fy,
        )
    except Exception:
        delete_files(media_store(), [stored.file, stored.thumbnail])
        raise


def discard_media(owner: Account, media_ids: Sequence[int]) -> int:
    """Delete the owner's uploads that no post uses yet, rows and files (an abandoned compose)."""
    rows = list(Media.objects.filter(owner=owner, pk__in=list(media_ids), post__isnull=True))
    files = [f for m in rows for f in (m.file, m.thumbnail)]
    with transaction.atomic():
        Media.objects.filter(pk__in=[m.pk for m in rows], post__isnull=True).delete()
        transaction.on_commit(lambda: delete_files(media_store(), files))
    return len(rows)


UNATTACHED_MEDIA_TTL = timedelta(hours=24)


def discard_stale_uploads(older_than: timedelta = UNATTACHED_MEDIA_TTL) -> int:
    """Delete uploads that no post or scheduled post uses and that have waited longer than a day:
    an abandoned compose, or the images of a post deleted for "delete and redraft" and never
    redrafted. Without this a deleted post's images would outlive it. Run periodically."""
    cutoff = now() - older_than
    stale = list(Media.objects.filter(post__isnull=True, scheduled_posts__isnull=True, created_at__lt=cutoff).values_list("pk", flat=True)[:1000])
    with transaction.atomic():
        # Locked and read again: a post that attached one meanwhile keeps it, and its files.
        rows = list(Media.objects.select_for_update().filter(pk__in=stale, post__isnull=True))
        files = [f for m in rows for f in (m.file, m.thumbnail)]
        Media.objects.filter(pk__in=[m.pk for m in rows]).delete()
        transaction.on_commit(lambda: delete_files(media_store(), files))
    return len(rows)


ORPHAN_FILE_GRACE = timedelta(hours=1)


def discard_orphan_files(older_than: timedelta = ORPHAN_FILE_GRACE, *, batch: int = 500) -> int:
    """Delete files in the media store that no row names: what an upload leaves behind when its
    process is killed between writing its files and committing its row (tests/security F1).
    Only files older than ``older_than`` are touched, so an upload still in flight keeps its
    files. Returns how many were deleted. Run periodically."""
    store = media_store()
    cutoff = (now() - older_than).timestamp()
    deleted = 0
    candidates: list[str] = []

    def sweep(names: list[str]) -> int:
        known = set(Media.objects.filter(file__in=names).values_list("file", flat=True))
        known |= set(Media.objects.filter(thumbnail__in=names).values_list("thumbnail", flat=True))
        known |= set(Account.objects.filter(avatar__in=names).values_list("avatar", flat=True))
        known |= set(Account.objects.filter(header__in=names).values_list("header", flat=True))
        orphans = [n for n in names if n not in known]
        delete_files(store, orphans)
        return len(orphans)

    for name in store.names_older_than(cutoff):
        candidates.append(name)
        if len(candidates) >= batch:
            deleted += sweep(candidates)
            candidates = []
    if candidates:
        deleted += sweep(candidates)
    return deleted


def update_media(owner: Account, media_id: int, *, description: str | None = None, focus: tuple[float, float] | None = None) -> Media:
    media = Media.objects.filter(pk=media_id, owner=owner).first()
    if media is None:
        raise NotFound("No such media.")
    if description is not None:
        if len(description) > MAX_ALT_TEXT:
            raise ValidationError(f"Alt text is at most {MAX_ALT_TEXT} characters.", field="description")
        media.description = description.strip()
    if focus is not None:
        media.focus_x, media.focus_y = _check_focus(focus)
    media.save()
    return media


MAX_PINS = 5


def pin(account: Account, post_id: int) -> Post:
    """Pin one of one's own posts to one's profile (Mastodon: at most 5; not reposts, not direct posts)."""
    post = visible_post(account, post_id)
    if post is None:
        raise NotFound("No such post.")
    if post.author_id != account.pk:
        raise ValidationError("Someone else's post cannot be pinned.")
    if post.is_repost:
        raise ValidationError("A repost cannot be pinned.")
    if post.visibility == Visibility.DIRECT:
        raise ValidationError("Posts that are only visible to mentioned people cannot be pinned.")
    with transaction.atomic():
        # Lock the account row so two requests cannot both pass the limit.
        Account.objects.select_for_update().filter(pk=account.pk).first()
        if Pin.objects.filter(account=account, post=post).exists():
            return post
        if Pin.objects.filter(account=account).count() >= MAX_PINS:
            raise ValidationError("You have pinned the maximum number of posts.")
        Pin.objects.create(account=account, post=post)
    return post


def unpin(account: Account, post_id: int) -> Post:
    post = visible_post(account, post_id)
    if post is None:
        raise NotFound("No such post.")
    Pin.objects.filter(account=account, post=post).delete()
    return post


def _thread_of_visible(account: Account, post_id: int) -> tuple[Post, int]:
    post = visible_post(account, post_id, "repost_of")
    if post is None:
        raise NotFound("No such post.")
    shown = post.repost_of if post.repost_of_id and post.repost_of is not None else post
    return post, shown.thread_id or shown.pk


def mute_thread(account: Account, post_id: int) -> Post:
    """Mute the conversation a post belongs to: no more notifications from it (Mastodon's mute)."""
    post, thread_id = _thread_of_visible(account, post_id)
    ThreadMute.objects.get_or_create(account=account, thread_id=thread_id)
    return post


def unmute_thread(account: Account, post_id: int) -> Post:
    post, thread_id = _thread_of_visible(account, post_id)
    ThreadMute.objects.filter(account=account, thread_id=thread_id).delete()
    return post


def media_files_of_account(account: Account) -> list[str]:
    return [f for m in Media.objects.filter(owner=account) for f in (m.file, m.thumbnail)]


def recount_after_account_removal(account: Account) -> Callable[[], None]:
    """Before an account is removed, note whose counters it touched; the callable recounts them."""
    liked = list(Like.objects.filter(account=account).values_list("post_id", flat=True))
    reposted = list(Post.objects.filter(author=account, repost_of__isnull=False).values_list("repost_of_id", flat=True))
    replied = list(Post.objects.filter(author=account, in_reply_to__isnull=False).values_list("in_reply_to_id", flat=True))
    quoted = list(Post.objects.filter(author=account, quote_of__isnull=False).values_list("quote_of_id", flat=True))
    ids = set(liked) | set(reposted) | set(replied) | set(quoted)
    # Others' reposts of this account's posts go with them (repost_of cascades): their counts drop.
    reposters = Counter(
        Post.objects.filter(repost_of__author=account).exclude(author=account).values_list("author_id", flat=True)
    )

    def recount() -> None:
        for author_id, n in reposters.items():
            Account.objects.filter(pk=author_id).update(posts_count=Greatest(F("posts_count") - n, 0))
        for post in Post.objects.filter(pk__in=ids).annotate(
            n_likes=Count("likes", distinct=True),
            n_reposts=Count("reposts", distinct=True),
            n_replies=Count("replies", distinct=True),
        ):
            Post.objects.filter(pk=post.pk).update(
                likes_count=post.n_likes, reposts_count=post.n_reposts, replies_count=post.n_replies,
                quotes_count=Post.objects.filter(quote_of=post, quote_state=QuoteState.ACCEPTED).count(),
            )

    return recount


__all__ = [
    "Draft", "PollDraft", "bookmark", "create_post", "delete_post", "detach_quote", "discard_media", "discard_stale_uploads", "edit_post", "like",
    "mute_thread", "pin", "repost", "unbookmark", "unlike", "unmute_thread", "unpin", "unrepost", "update_media", "upload_media", "vote",
]
