"""SECURITY-TESTS D3: a deleted post is gone, not hidden.

A post with an edit history, images, a mention, likes, a repost, a reply and timeline entries is
deleted (through the API and through the web form). Then: every page and endpoint that showed it
answers 404; its text is in no row of any table (every text, char and JSON column of every model
is searched for a unique word; on SQLite the full-text index's own tables too); every image
variant is gone from disk and from its URLs, grants included; notifications and home entries
pointing to it are gone; search finds nothing.

Still to come with federation (issue 6): the ActivityPub object answering 410 with a Tombstone,
and a Delete delivered to every inbox that received the post.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.db import connection, models
from django.db.models.functions import Cast
from django.test import Client

from rostra.accounts.models import Account
from rostra.core.clock import now
from rostra.core.pagination import PageRequest
from rostra.notifications.models import Notification
from rostra.pipeline.tasks import discard_stale_uploads_task, optimize_search_index_task
from rostra.posts import actions as posts
from rostra.posts.models import Media, Post
from rostra.search.schema import FTS_TABLE
from rostra.testing.images import png_bytes
from rostra.testing.world import make_post
from rostra.timelines.queries import home
from tests.api.conftest import bearer, password_token, register  # noqa: F401 - fixtures
from tests.timelines.homes import owners

TOKEN = "zebrafinchquokka"  # a word that appears nowhere else
EDITED = "platypusnarwhal"


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def rows_containing(word: str) -> list[str]:
    """Every model row, in every app, with ``word`` in a text, char or JSON column."""
    found = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, models.CharField | models.TextField):
                qs = model._default_manager.filter(**{f"{field.attname}__icontains": word})
            elif isinstance(field, models.JSONField):
                qs = model._default_manager.annotate(_as_text=Cast(field.attname, models.TextField())).filter(
                    _as_text__icontains=word
                )
            else:
                continue
            if qs.exists():
                found.append(f"{model._meta.label}.{field.name}")
    return found


def fts_traces(word: str) -> list[str]:
    """On SQLite, the FTS5 index's tables: the indexed text and the index's own pages."""
    if connection.vendor != "sqlite":
        return []  # PostgreSQL indexes an expression over posts_post: no copy of the text exists
    assert FTS_TABLE == "search_post_fts"  # the SQL below is spelled out, as in rostra.search.schema
    traces = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM search_post_fts WHERE search_post_fts MATCH %s", [word])
        if cursor.fetchone()[0]:
            traces.append("match")
        cursor.execute("SELECT count(*) FROM search_post_fts_content WHERE c0 LIKE %s OR c1 LIKE %s", [f"%{word}%"] * 2)
        if cursor.fetchone()[0]:
            traces.append("content")
        cursor.execute("SELECT count(*) FROM search_post_fts_data WHERE instr(block, CAST(%s AS BLOB)) > 0", [word])
        if cursor.fetchone()[0]:
            traces.append("index pages")
    return traces


def _shown_in_a_home(*post_ids: int) -> bool:
    """Whether any account's home timeline shows one of these posts, read through the door."""
    for post_id in post_ids:
        window = PageRequest(max_id=post_id + 1, since_id=post_id - 1, limit=1)
        if any(home(a, window).items for a in Account.objects.all()):
            return True
    return False


@pytest.fixture
def doomed(world, password_token, media_dir, run_tasks):  # noqa: F811 - fixture
    w = world
    api = bearer(password_token(w.alice))
    bob_api = bearer(password_token(w.bob))
    uploads = [posts.upload_media(w.alice, png_bytes((20 + i, 20))) for i in range(2)]
    post = make_post(w.alice, f"first draft {TOKEN} @bob #quokkas", media_ids=[m.pk for m in uploads], spoiler_text=f"cw {TOKEN}")
    posts.edit_post(w.alice, post.pk, text=f"second draft {TOKEN} {EDITED} @bob #quokkas", spoiler_text=f"cw {TOKEN}")
    posts.like(w.bob, post.pk)
    posts.bookmark(w.dave, post.pk)
    repost = posts.repost(w.dave, post.pk)
    reply = make_post(w.bob, "what a find", in_reply_to_id=post.pk)
    run_tasks()
    status = bob_api.get(f"/api/v1/statuses/{post.pk}").json()  # bob's grants: a follower's view
    grant_urls = [_path(a[k]) for a in status["media_attachments"] for k in ("url", "preview_url")]
    files = [f for m in Media.objects.filter(post=post) for f in (m.file, m.thumbnail)]
    # Before: it is everywhere it should be.
    assert rows_containing(TOKEN) and Notification.objects.filter(post=post).exists()
    assert owners(post) and owners(repost) and _shown_in_a_home(post.pk) and _shown_in_a_home(repost.pk)
    assert all((media_dir / f).exists() for f in files) and len(files) == 4
    assert all(Client().get(u).status_code == 200 for u in grant_urls)
    assert TOKEN in bob_api.get("/api/v2/search", {"q": TOKEN, "type": "statuses"}).content.decode()
    if connection.vendor == "sqlite":
        assert "match" in fts_traces(TOKEN)
    return {
        "post": post,
        "repost": repost,
        "reply": reply,
        "files": files,
        "grant_urls": grant_urls,
        "api": api,
        "bob_api": bob_api,
    }


@pytest.mark.parametrize("surface", ["api", "api-delete_media", "web"])
def test_d3_delete_is_gone(
    world,
    doomed,
    client_for,
    media_dir,
    run_tasks,
    django_capture_on_commit_callbacks,
    surface,
):
    w, post = world, doomed["post"]
    with django_capture_on_commit_callbacks(execute=True):
        if surface.startswith("api"):
            query = "?delete_media=true" if surface == "api-delete_media" else ""
            response = doomed["api"].delete(f"/api/v1/statuses/{post.pk}{query}")
            assert response.status_code == 200 and TOKEN in response.json()["text"]  # the source, once, for redraft
        else:
            response = client_for(w.alice).post(f"/posts/{post.pk}/delete")
            assert response.status_code == 302
    run_tasks()

    # Every surface answers 404, for everyone, exactly like an id that never existed.
    for viewer in (w.alice, w.bob, None):
        client = client_for(viewer)
        for url in (f"/@alice/{post.pk}", f"/@alice/{post.pk}/history"):
            assert client.get(url).status_code == 404, (viewer, url)
        page = client.get("/@alice").content.decode() + client.get("/local").content.decode()
        assert TOKEN not in page and EDITED not in page
    for account, api in ((w.alice, doomed["api"]), (w.bob, doomed["bob_api"])):
        for url in (
            f"/api/v1/statuses/{post.pk}",
            f"/api/v1/statuses/{post.pk}/context",
            f"/api/v1/statuses/{post.pk}/history",
            f"/api/v1/statuses/{post.pk}/source",
            f"/api/v1/statuses/{doomed['repost'].pk}",
        ):
            assert api.get(url).status_code == 404, (account, url)
        found = api.get("/api/v2/search", {"q": TOKEN, "type": "statuses", "resolve": "false"}).json()
        assert found["statuses"] == []
        home = api.get("/api/v1/timelines/home").content.decode() + api.get("/api/v1/notifications").content.decode()
        assert TOKEN not in home and str(post.pk) not in home
    assert Client().get(f"/api/v1/statuses/{post.pk}").status_code in (401, 404)
    results = client_for(w.bob).get("/search", {"q": TOKEN}).content.decode()
    assert '<article class="post' not in results and EDITED not in results

    # Its text is in no row anywhere: not the post, its edits, its decisions, events, notifications...
    assert rows_containing(TOKEN) == []
    assert rows_containing(EDITED) == []
    # The index: no match and no stored text at once. On SQLite older than 3.44 (no FTS5
    # secure-delete) the words linger in old index pages until the daily merge runs; after it,
    # nothing is left.
    assert set(fts_traces(TOKEN) + fts_traces(EDITED)) <= ({"index pages"} if sqlite3.sqlite_version_info < (3, 44) else set())
    optimize_search_index_task.call_local()
    assert fts_traces(TOKEN) == [] and fts_traces(EDITED) == []
    assert not Post.objects.filter(pk__in=[post.pk, doomed["repost"].pk]).exists()
    assert not Notification.objects.filter(post_id=post.pk).exists()
    assert not _shown_in_a_home(post.pk, doomed["repost"].pk)  # a Redis set may keep the ids: reads drop them
    assert Post.objects.get(pk=doomed["reply"].pk).in_reply_to_id is None  # others' words stay, detached

    # Every image variant is gone from disk and from every URL, grants included. The API's
    # DELETE (Mastodon's "delete and redraft") keeps them a day as the author's own unattached
    # uploads, seen by nobody else, unless delete_media=true; then the hourly upkeep removes them.
    for url in doomed["grant_urls"]:
        assert Client().get(url).status_code == 404
    if surface == "api":
        for name in doomed["files"]:
            assert client_for(w.bob).get(f"/media/{name}").status_code == 404
            assert Client().get(f"/media/{name}").status_code == 404
        with django_capture_on_commit_callbacks(execute=True):
            discard_stale_uploads_task.call_local()
        assert all((media_dir / f).exists() for f in doomed["files"])  # not a day yet: a redraft may come
        Media.objects.filter(owner=w.alice).update(created_at=now() - timedelta(hours=25))
        with django_capture_on_commit_callbacks(execute=True):
            discard_stale_uploads_task.call_local()
        assert not Media.objects.filter(owner=w.alice).exists()
    assert [f for f in doomed["files"] if (media_dir / f).exists()] == []
    assert list(media_dir.iterdir()) == []
    for name in doomed["files"]:
        assert client_for(w.alice).get(f"/media/{name}").status_code == 404
    for url in doomed["grant_urls"]:
        assert Client().get(url).status_code == 404


def test_d3_delete_is_gone_stale_uploads_go_and_nothing_else(world, media_dir, django_capture_on_commit_callbacks):
    """The hourly upkeep deletes uploads no post has used for a day, and only those: not a fresh
    upload, not one in a post, not one waiting in a scheduled post."""
    from rostra.posts.actions import Draft
    from rostra.posts.scheduled import schedule_post

    w = world
    stale, fresh, posted, scheduled = (posts.upload_media(w.alice, png_bytes((8 + i, 8))) for i in range(4))
    make_post(w.alice, "with a picture", media_ids=[posted.pk])
    schedule_post(w.alice, Draft(text="later", media_ids=[scheduled.pk]), now() + timedelta(days=2))
    Media.objects.exclude(pk=fresh.pk).update(created_at=now() - timedelta(days=3))
    with django_capture_on_commit_callbacks(execute=True):
        discard_stale_uploads_task.call_local()
    assert set(Media.objects.values_list("pk", flat=True)) == {fresh.pk, posted.pk, scheduled.pk}
    assert not (media_dir / stale.file).exists() and not (media_dir / stale.thumbnail).exists()
    assert all((media_dir / m.file).exists() for m in (fresh, posted, scheduled))
