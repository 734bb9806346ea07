"""Remote accounts in the web UI: their pages at /@user@domain (known here only, never fetched on a
page view), links to them everywhere, and following them from the web (a Follow goes out)."""

from __future__ import annotations

import pytest

from rostra.accounts import actions as accounts
from rostra.accounts import queries as account_queries
from rostra.accounts.models import Account, Follow, FollowRequest, Mute
from rostra.core import clock
from rostra.core.errors import NotFound
from rostra.federation.models import OutboxActivity, RemoteActor, RemotePost
from rostra.posts.models import Post
from rostra.testing.world import make_account, make_post

pytestmark = pytest.mark.django_db

DOMAIN = "remote.example"
HX = {"HTTP_HX_REQUEST": "true"}


def remote_account(username: str = "zoe", domain: str = DOMAIN, **fields: object) -> Account:
    account = Account.objects.create(
        username=username, domain=domain, display_name=f"{username.title()} Afar", note="I walk in the fog.", **fields
    )
    RemoteActor.objects.create(
        account=account,
        uri=f"https://{domain}/users/{username}",
        url=f"https://{domain}/@{username}",
        inbox=f"https://{domain}/users/{username}/inbox",
        shared_inbox=f"https://{domain}/inbox",
        fetched_at=clock.now(),
    )
    return account


def remote_post(author: Account, text: str) -> Post:
    post = Post.objects.create(author=author, text=text, content_html=f"<p>{text}</p>", created_at=clock.now())
    RemotePost.objects.create(post=post, uri=f"https://{author.domain}/users/{author.username}/statuses/{post.pk}")
    return post


@pytest.fixture
def zoe() -> Account:
    return remote_account()


def test_a_known_remote_account_has_a_page_here(world, zoe, client_for) -> None:
    remote_post(zoe, "fog over the moor")
    for client in (client_for(None), client_for(world.alice)):
        response = client.get("/@zoe@remote.example")
        assert response.status_code == 200
        html = response.content.decode()
        assert "Zoe Afar" in html and "@zoe@remote.example" in html and "I walk in the fog." in html
        assert "This is a profile on remote.example" in html and 'href="https://remote.example/@zoe"' in html
        assert "fog over the moor" in html
        assert ".rss" not in html  # no feed for a remote account
    html = client_for(world.alice).get("/@zoe@remote.example").content.decode()
    assert 'action="/@zoe@remote.example/follow"' in html and 'action="/@zoe@remote.example/block"' in html
    for tab in ("with_replies", "media", "followers", "following"):
        assert client_for(world.alice).get(f"/@zoe@remote.example/{tab}").status_code == 200, tab
    assert client_for(None).get("/@ZOE@Remote.Example").status_code == 200  # handles ignore case


def test_a_remote_post_lives_under_its_authors_full_handle(world, zoe, client_for) -> None:
    post = remote_post(zoe, "a remote thread")
    alice = client_for(world.alice)
    page = alice.get(f"/@zoe@remote.example/{post.pk}")
    assert page.status_code == 200 and "a remote thread" in page.content.decode()
    assert 'href="/@zoe@remote.example"' in page.content.decode()
    assert alice.get(f"/@zoe/{post.pk}").status_code == 404  # not under a local name


def test_a_local_account_with_the_same_username_is_not_confused_with_it(world, zoe, client_for) -> None:
    local = make_account("zoe", display_name="Zoe Here")
    make_post(local, "the local zoe speaks")
    remote_post(zoe, "the remote zoe speaks")
    here = client_for(None).get("/@zoe").content.decode()
    there = client_for(None).get("/@zoe@remote.example").content.decode()
    assert "Zoe Here" in here and "the local zoe speaks" in here and "the remote zoe speaks" not in here
    assert "Zoe Afar" in there and "the remote zoe speaks" in there and "the local zoe speaks" not in there
    assert 'href="/@zoe.rss"' in here  # local URLs keep their exact form
    alice = client_for(world.alice)
    alice.post("/@zoe@remote.example/mute")
    assert Mute.objects.filter(account=world.alice, target=zoe).exists()
    assert not Mute.objects.filter(account=world.alice, target=local).exists()


def test_links_to_a_remote_account_point_to_its_page_here(world, zoe, client_for, run_tasks) -> None:
    remote_post(zoe, "hello from afar")
    accounts.follow(world.alice, zoe)
    accounts.follow(zoe, world.alice)  # a remote follower, as the inbox leaves it
    run_tasks()
    alice = client_for(world.alice)
    timeline = alice.get("/home").content.decode()
    assert "hello from afar" in timeline
    assert 'href="/@zoe@remote.example"' in timeline and 'href="/@zoe"' not in timeline
    notifications = alice.get("/notifications").content.decode()
    assert 'href="/@zoe@remote.example"' in notifications and 'href="/@zoe"' not in notifications
    followers = alice.get("/@alice/followers").content.decode()
    assert 'href="/@zoe@remote.example"' in followers and 'action="/@zoe@remote.example/remove-follower"' in followers
    assert 'href="/@bob"' in followers  # local people keep /@name
    search = alice.get("/search", {"q": "zoe"}).content.decode()
    assert 'href="/@zoe@remote.example"' in search


def test_following_a_remote_account_from_the_web_sends_a_follow(world, zoe, client_for, run_tasks) -> None:
    alice = client_for(world.alice)
    response = alice.post("/@zoe@remote.example/follow", {"next": "/@zoe@remote.example"})
    assert response.status_code == 302 and response["Location"] == "/@zoe@remote.example"
    assert (
        Follow.objects.filter(follower=world.alice, target=zoe).exists()
        or FollowRequest.objects.filter(requester=world.alice, target=zoe).exists()
    )
    run_tasks()
    sent = OutboxActivity.objects.get(activity_type="Follow", sender=world.alice)
    assert sent.body["object"] == "https://remote.example/users/zoe"
    page = alice.get("/@zoe@remote.example").content.decode()
    assert "@zoe@remote.example" in page and 'action="/@zoe@remote.example/unfollow"' in page
    htmx = alice.post("/@zoe@remote.example/unfollow", **HX)
    assert htmx.status_code == 200 and 'action="/@zoe@remote.example/follow"' in htmx.content.decode()
    assert "@zoe@remote.example" in htmx["HX-Trigger"]
    assert not Follow.objects.filter(follower=world.alice, target=zoe).exists()


def test_a_private_note_on_a_remote_account(world, zoe, client_for) -> None:
    alice = client_for(world.alice)
    response = alice.post("/@zoe@remote.example/note", {"comment": "met at the fog walk"})
    assert response.status_code == 302 and response["Location"] == "/@zoe@remote.example"
    assert "met at the fog walk" in alice.get("/@zoe@remote.example").content.decode()


def test_unknown_and_suspended_remote_accounts_are_not_found(world, zoe, client_for) -> None:
    gone = remote_account("gone", suspended_at=clock.now())
    alice = client_for(world.alice)
    for path in (
        "/@gone@remote.example",
        "/@nobody@remote.example",
        "/@zoe@elsewhere.example",
        "/@gone@remote.example/followers",
    ):
        response = alice.get(path)
        assert response.status_code == 404, path
    assert alice.post("/@gone@remote.example/follow").status_code == 404
    assert alice.post("/@nobody@remote.example/follow").status_code == 404
    assert not Follow.objects.filter(follower=world.alice, target=gone).exists()
    assert not Account.objects.filter(username="nobody").exists()  # nothing is fetched on a page view
    for bad in ("/@zoe@", "/@zoe@remote.example@more", "/@zoe@remote example", "/@zoe@remote.example:port"):
        assert alice.get(bad).status_code == 404, bad


def test_feeds_and_activitypub_stay_local_only(world, zoe, client_for) -> None:
    anonymous = client_for(None)
    assert anonymous.get("/@zoe@remote.example.rss").status_code == 404
    assert anonymous.get("/@alice.rss").status_code == 200
    response = anonymous.get("/@zoe@remote.example", HTTP_ACCEPT="application/activity+json")
    assert response.status_code == 404  # never served as an actor of ours
    assert anonymous.get("/@alice", HTTP_ACCEPT="application/activity+json").status_code == 200


def test_get_account_by_acct(world, zoe) -> None:
    assert account_queries.get_account_by_acct("alice").pk == world.alice.pk
    assert account_queries.get_account_by_acct("@Zoe@REMOTE.example").pk == zoe.pk
    for missing in ("zoe", "", "@", "nobody@remote.example", "alice@remote.example"):
        with pytest.raises(NotFound):
            account_queries.get_account_by_acct(missing)
