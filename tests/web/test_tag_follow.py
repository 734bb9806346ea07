"""The hashtag page's Follow / Unfollow button: a plain form (CSRF, no JavaScript needed)."""

from __future__ import annotations

import re

from django.test import Client

from rostra.testing.world import make_post
from rostra.timelines.models import FollowedTag
from rostra.timelines.store import get_store

FORM = re.compile(r'<form method="post" action="(/tags/[^"]+/(?:un)?follow)">')
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def test_follow_and_unfollow_from_the_hashtag_page(world, run_tasks):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.carol.user)
    page = client.get("/tags/Tea").content.decode()
    assert FORM.search(page).group(1) == "/tags/Tea/follow"
    assert client.post("/tags/Tea/follow").status_code == 403  # no CSRF token
    assert not FollowedTag.objects.exists()
    done = client.post("/tags/Tea/follow", {"csrfmiddlewaretoken": TOKEN.search(page).group(1)}, follow=True)
    assert done.status_code == 200 and done.redirect_chain[-1][0] == "/tags/tea"
    html = done.content.decode()
    assert "You follow #Tea now" in html and FORM.search(html).group(1) == "/tags/tea/unfollow"
    assert FollowedTag.objects.filter(account=world.carol, hashtag__name="tea").count() == 1
    # The follow works: a public #tea post by someone carol does not follow reaches her home.
    post = make_post(world.dave, "Brewing #Tea")
    run_tasks()
    assert get_store().has(world.carol.pk, post.pk)
    gone = client.post("/tags/tea/unfollow", {"csrfmiddlewaretoken": TOKEN.search(html).group(1)}, follow=True)
    assert "You no longer follow #Tea" in gone.content.decode()
    assert FORM.search(gone.content.decode()).group(1) == "/tags/tea/follow"
    assert not FollowedTag.objects.exists()


def test_anonymous_visitors_are_sent_to_log_in(world, client_for):
    page = client_for(None).get("/tags/tea").content.decode()
    assert 'href="/login?next=/tags/tea"' in page and not FORM.search(page)
    response = client_for(None).post("/tags/tea/follow")
    assert response.status_code == 302 and response["Location"].startswith("/login")
    assert not FollowedTag.objects.exists()


def test_bad_names_and_methods(world, client_for):
    client = client_for(world.carol)
    assert client.post("/tags/foo-bar/follow").status_code == 400
    assert client.post("/tags/123/follow").status_code == 400
    assert client.post("/tags/neverused/unfollow").status_code == 404
    assert client.get("/tags/tea/follow").status_code == 405
    assert not FollowedTag.objects.exists()
