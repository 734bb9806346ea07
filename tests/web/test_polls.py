"""Polls on the web: composing one (no JavaScript needed), voting (htmx and plain forms), results."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rostra.core import clock
from rostra.notifications.models import Kind
from rostra.posts.actions import Draft, PollDraft, create_post, vote
from rostra.posts.models import Media, Poll, PollVote, Post
from rostra.testing.world import make_post
from tests.web.helpers import png

HX = {"HTTP_HX_REQUEST": "true"}


def compose(client, **data):
    data.setdefault("visibility", "public")
    return client.post("/compose", data)


def poll_post(author, options=("Tea", "Coffee"), **kw):
    visibility = kw.pop("visibility", "public")
    return create_post(author, Draft(text="Which?", visibility=visibility, poll=PollDraft(options=list(options), expires_in=3600, **kw)))


# --- Compose


def test_the_compose_box_has_a_poll_section(world, client_for):
    for url in ("/compose", "/home"):
        html = client_for(world.alice).get(url).content.decode()
        assert "<summary>" in html and "Poll</span>" in html
        for name in ("poll_option_0", "poll_option_3", "poll_expires_in", "poll_multiple", "poll_hide_totals"):
            assert f'name="{name}"' in html, (url, name)
        assert '<option value="86400" selected>1 day</option>' in html


def test_composing_a_poll(world, client_for):
    response = compose(
        client_for(world.alice), text="Lunch?", poll_option_0="Soup", poll_option_1="", poll_option_2="Salad",
        poll_expires_in="300", poll_multiple="on",
    )
    post = Post.objects.get(text="Lunch?")
    assert response.status_code == 302
    poll = Poll.objects.get(post=post)
    assert list(poll.options.values_list("title", flat=True)) == ["Soup", "Salad"]
    assert poll.multiple and not poll.hide_totals
    assert abs((poll.expires_at - post.created_at).total_seconds() - 300) < 1


def test_a_post_without_poll_options_has_no_poll(world, client_for):
    compose(client_for(world.alice), text="Just words", poll_expires_in="300", poll_multiple="on")
    assert Post.objects.filter(text="Just words").exists() and not Poll.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"poll_option_0": "Alone"}, "at least 2 options"),
        ({"poll_option_0": "Same", "poll_option_1": "same"}, "must all be different"),
        ({"poll_option_0": "x" * 51, "poll_option_1": "y"}, "at most 50 characters"),
        ({"poll_option_0": "a", "poll_option_1": "b", "poll_expires_in": "299"}, "Select a valid choice"),
    ],
)
def test_bad_polls_show_errors_and_keep_the_draft(world, client_for, data, message):
    response = compose(client_for(world.alice), text="Keep me", **data)
    html = response.content.decode()
    assert response.status_code == 400 and message in html and "Keep me" in html
    assert not Post.objects.filter(text="Keep me").exists() and not Poll.objects.exists()


def test_images_and_a_poll_are_refused_and_the_uploads_discarded(world, client_for, media_dir):
    response = client_for(world.alice).post(
        "/compose", {"text": "Both", "visibility": "public", "poll_option_0": "a", "poll_option_1": "b", "media_0": png()}
    )
    assert response.status_code == 400 and "images or a poll, not both" in response.content.decode()
    assert not Post.objects.filter(text="Both").exists() and not Media.objects.exists()


def test_composing_with_htmx_shows_the_new_poll(world, client_for):
    response = client_for(world.alice).post(
        "/compose", {"text": "Quick one", "visibility": "public", "poll_option_0": "Yes", "poll_option_1": "No", "compact": "1"}, **HX
    )
    html = response.content.decode()
    assert response.status_code == 200 and 'class="poll"' in html and "poll-results" in html  # the author sees results


# --- Voting and results


def test_a_card_offers_a_vote_and_then_shows_results(world, client_for):
    post = poll_post(world.alice)
    client = client_for(world.bob)
    page = client.get(f"/@alice/{post.pk}").content.decode()
    assert f'action="/posts/{post.pk}/vote"' in page and 'type="radio" name="choice" value="1"' in page
    response = client.post(f"/posts/{post.pk}/vote", {"choice": "1", "next": f"/@alice/{post.pk}"})
    assert response.status_code == 302 and response["Location"] == f"/@alice/{post.pk}"
    assert list(PollVote.objects.values_list("account_id", "choice")) == [(world.bob.pk, 1)]
    page = client.get(f"/@alice/{post.pk}").content.decode()
    assert 'name="choice"' not in page and "poll-results" in page and 'value="100"' in page and "1 vote" in page
    # Voting again is refused with a message, not a server error.
    again = client.post(f"/posts/{post.pk}/vote", {"choice": "0"}, follow=True)
    assert "already voted" in again.content.decode()
    assert PollVote.objects.count() == 1


def test_voting_with_htmx_swaps_the_poll(world, client_for):
    post = poll_post(world.alice, ["a", "b", "c"], multiple=True)
    client = client_for(world.bob)
    page = client.get("/local").content.decode()
    assert 'type="checkbox" name="choice"' in page and 'hx-target="closest .poll"' in page
    response = client.post(f"/posts/{post.pk}/vote", {"choice": ["0", "2"]}, **HX)
    html = response.content.decode()
    assert response.status_code == 200 and html.strip().startswith('<div class="poll"') and "1 person" in html
    assert "Vote counted" in response["HX-Trigger"]
    bad = client.post(f"/posts/{post.pk}/vote", {"choice": "1"}, **HX)
    assert bad.status_code == 422 and bad["HX-Reswap"] == "none" and "already voted" in bad["HX-Trigger"]


def test_voting_through_a_repost(world, client_for):
    post = poll_post(world.alice)
    from rostra.posts.actions import repost

    rp = repost(world.dave, post.pk)
    client_for(world.bob).post(f"/posts/{rp.pk}/vote", {"choice": "0"})
    assert PollVote.objects.filter(account=world.bob, poll__post=post).count() == 1


def test_hidden_totals_and_ended_polls(world, client_for):
    post = poll_post(world.alice, hide_totals=True)
    vote(world.bob, Poll.objects.get(post=post).pk, [0])
    bob_page = client_for(world.bob).get(f"/@alice/{post.pk}").content.decode()
    assert "Results are shown when the poll ends" in bob_page and "<progress" not in bob_page
    assert "<progress" not in client_for(world.alice).get(f"/@alice/{post.pk}").content.decode()  # nor its author
    Poll.objects.filter(post=post).update(expires_at=clock.now() - timedelta(minutes=1))
    ended = client_for(world.dave).get(f"/@alice/{post.pk}").content.decode()
    assert "Closed" in ended and "<progress" in ended and 'name="choice"' not in ended
    response = client_for(world.dave).post(f"/posts/{post.pk}/vote", {"choice": "0"}, follow=True)
    assert "already ended" in response.content.decode() and PollVote.objects.count() == 1


def test_anonymous_visitors_see_results_without_a_form(world, client_for):
    post = poll_post(world.alice)
    page = client_for(None).get(f"/@alice/{post.pk}").content.decode()
    assert "poll-results" in page and 'name="choice"' not in page
    assert client_for(None).post(f"/posts/{post.pk}/vote", {"choice": "0"}).status_code == 302  # to the login page
    assert not PollVote.objects.exists()


def test_who_cannot_see_the_post_cannot_vote(world, client_for):
    post = poll_post(world.alice, visibility="private")
    for outsider in (world.carol, world.eve):
        assert client_for(outsider).post(f"/posts/{post.pk}/vote", {"choice": "0"}).status_code == 404
    assert not PollVote.objects.exists()
    plain = make_post(world.alice, "No poll here")
    assert client_for(world.bob).post(f"/posts/{plain.pk}/vote", {"choice": "0"}).status_code == 404


def test_bad_vote_input_never_causes_a_server_error(world, client_for):
    post = poll_post(world.alice)
    client = client_for(world.bob)
    client.raise_request_exception = False
    for junk in ["", "abc", "-1", "9" * 30, "\x00", "١٢٣", "0.5"]:
        assert client.post(f"/posts/{post.pk}/vote", {"choice": junk}).status_code < 500, junk
    for bad_id in ("abc", "9" * 30, "-1"):
        assert client.post(f"/posts/{bad_id}/vote", {"choice": "0"}).status_code == 404
    assert not PollVote.objects.exists()


def test_the_poll_ended_notification_is_shown(world, client_for, run_tasks):
    from rostra.posts.polls import close_expired_polls

    post = poll_post(world.alice)
    vote(world.bob, Poll.objects.get(post=post).pk, [0])
    Poll.objects.filter(post=post).update(expires_at=clock.now() - timedelta(minutes=1))
    close_expired_polls()
    run_tasks()
    html = client_for(world.bob).get("/notifications").content.decode()
    assert f"kind-{Kind.POLL}" in html and "ran a poll that has ended" in html


def test_query_counts_do_not_grow_with_polls(world, client_for):
    def count(url):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    client = client_for(world.bob)
    for i in range(2):
        vote(world.bob, Poll.objects.get(post=poll_post(world.alice, [f"a{i}", "b"])).pk, [0])
    small = count("/local")
    for i in range(6):
        poll_post(world.alice, [f"c{i}", "d"])
    assert count("/local") == small
