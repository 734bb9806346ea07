"""Following, follow requests, blocking and muting, from profile buttons."""

from __future__ import annotations

from rostra.accounts.models import Block, Follow, FollowRequest, Mute
from tests.web.helpers import reload

HX = {"HTTP_HX_REQUEST": "true"}


def test_follow_and_unfollow_without_javascript(world, client_for):
    client = client_for(world.alice)
    response = client.post("/@dave/follow", {"next": "/@dave"})
    assert response.status_code == 302 and response["Location"] == "/@dave"
    assert Follow.objects.filter(follower=world.alice, target=world.dave).exists()
    assert reload(world.dave).followers_count == 1
    page = client.get("/@dave").content.decode()
    assert 'action="/@dave/unfollow"' in page and "You follow @dave now." in page
    client.post("/@dave/unfollow")
    assert not Follow.objects.filter(follower=world.alice, target=world.dave).exists()


def test_follow_with_htmx_swaps_the_controls(world, client_for):
    response = client_for(world.alice).post("/@dave/follow", **HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith('<div class="relationship">') and 'action="/@dave/unfollow"' in html
    assert "rostra:toast" in response["HX-Trigger"]


def test_follows_you_and_follow_back(world, client_for):
    html = client_for(world.alice).get("/@bob").content.decode()  # bob follows alice
    assert "Follows you" in html and "Follow back" in html


def test_a_locked_account_gets_requests_it_can_accept(world, client_for, run_tasks):
    dave = client_for(world.dave)
    dave.post("/@carol/follow")
    assert FollowRequest.objects.filter(requester=world.dave, target=world.carol).exists()
    assert not Follow.objects.filter(follower=world.dave, target=world.carol).exists()
    assert "Requested" in dave.get("/@carol").content.decode()
    run_tasks()
    carol = client_for(world.carol)
    page = carol.get("/follow-requests").content.decode()
    assert "@dave" in page and f'action="/follow-requests/{world.dave.pk}/accept"' in page
    assert "asked to follow you" in carol.get("/notifications").content.decode()
    response = carol.post(f"/follow-requests/{world.dave.pk}/accept")
    assert response.status_code == 302 and response["Location"] == "/follow-requests"
    assert Follow.objects.filter(follower=world.dave, target=world.carol).exists()
    assert not FollowRequest.objects.filter(requester=world.dave).exists()
    assert carol.post(f"/follow-requests/{world.dave.pk}/accept").status_code == 404  # already answered


def test_a_request_can_be_rejected(world, client_for):
    client_for(world.alice).post("/@carol/follow")
    response = client_for(world.carol).post(f"/follow-requests/{world.alice.pk}/reject", **HX)
    assert response.status_code == 200
    assert not FollowRequest.objects.filter(requester=world.alice).exists()
    assert not Follow.objects.filter(follower=world.alice, target=world.carol).exists()


def test_a_request_can_be_withdrawn(world, client_for):
    client = client_for(world.alice)
    client.post("/@carol/follow")
    client.post("/@carol/unfollow")
    assert not FollowRequest.objects.filter(requester=world.alice).exists()


def test_block_ends_follows_and_shows_unblock(world, client_for):
    client = client_for(world.alice)
    client.post("/@dave/block")  # dave follows alice
    assert Block.objects.filter(account=world.alice, target=world.dave).exists()
    assert not Follow.objects.filter(follower=world.dave, target=world.alice).exists()
    html = client.get("/@dave").content.decode()
    assert 'action="/@dave/unblock"' in html and "Blocked" in html
    client.post("/@dave/unblock")
    assert not Block.objects.filter(account=world.alice, target=world.dave).exists()


def test_the_blocked_cannot_follow(world, client_for):
    eve = client_for(world.eve)  # alice blocks eve
    html = eve.get("/@alice").content.decode()
    assert 'action="/@alice/follow"' not in html
    assert eve.post("/@alice/follow").status_code == 403
    assert not Follow.objects.filter(follower=world.eve).exists()


def test_following_someone_you_block_says_so(world, client_for):
    client = client_for(world.alice)  # alice blocks eve: a conflict, answered with a message
    response = client.post("/@eve/follow", {"next": "/@eve"})
    assert response.status_code == 302 and response["Location"] == "/@eve"
    assert "unblock it first" in client.get("/@eve").content.decode()
    htmx = client.post("/@eve/follow", **HX)
    assert htmx.status_code == 409 and "unblock it first" in htmx["HX-Trigger"]
    assert not Follow.objects.filter(follower=world.alice, target=world.eve).exists()


def test_mute_and_unmute(world, client_for):
    client = client_for(world.alice)
    client.post("/@dave/mute")
    assert Mute.objects.filter(account=world.alice, target=world.dave).exists()
    assert 'action="/@dave/unmute"' in client.get("/@dave").content.decode()
    client.post("/@dave/unmute")
    assert not Mute.objects.filter(account=world.alice, target=world.dave).exists()


def test_remove_a_follower(world, client_for):
    client = client_for(world.alice)
    assert "@bob" in client.get("/@alice/followers").content.decode()
    response = client.post("/@bob/remove-follower")
    assert response.status_code == 302 and response["Location"] == "/@alice/followers"
    assert not Follow.objects.filter(follower=world.bob, target=world.alice).exists()


def test_you_cannot_follow_yourself_or_nobody(world, client_for):
    client = client_for(world.alice)
    response = client.post("/@alice/follow")
    assert response.status_code == 400 and "cannot follow yourself" in response.content.decode()
    assert client.post("/@nobody/follow").status_code == 404
    assert client.get("/@alice/follow").status_code == 405
