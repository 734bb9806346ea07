"""Every page people read: timelines, search, profiles, threads, notifications, about."""

from __future__ import annotations

from django.utils import timezone

from rostra.accounts.models import Account
from rostra.notifications.models import Notification
from rostra.posts.actions import Draft, create_post, like, upload_media
from rostra.testing.world import make_post
from tests.web.helpers import image_bytes, normalise

HX = {"HTTP_HX_REQUEST": "true"}


# --- Timelines


def test_home_shows_the_people_you_follow(world, client_for, run_tasks):
    make_post(world.alice, "Alice says hi")
    make_post(world.dave, "Dave is muted by bob")
    make_post(world.eve, "Eve is a stranger")
    run_tasks()
    html = client_for(world.bob).get("/home").content.decode()
    assert "Alice says hi" in html
    assert "Dave is muted by bob" not in html and "Eve is a stranger" not in html


def test_local_shows_public_posts_only(world, client_for):
    make_post(world.alice, "Public words")
    make_post(world.alice, "Unlisted words", visibility="unlisted")
    make_post(world.alice, "Private words", visibility="private")
    for viewer in (None, world.bob):
        html = client_for(viewer).get("/local").content.decode()
        assert "Public words" in html
        assert "Unlisted words" not in html and "Private words" not in html


def test_hashtag_timeline(world, client_for):
    make_post(world.alice, "Brewing #Tea today")
    make_post(world.bob, "No tag here")
    response = client_for(None).get("/tags/tea")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Brewing" in html and "No tag here" not in html and "#tea" in html.lower()


def test_load_more_pages_with_htmx(world, client_for):
    for i in range(25):
        make_post(world.alice, f"Post number {i:02d}")
    client = client_for(None)
    first = client.get("/local").content.decode()
    assert "Post number 24" in first and "Post number 04" not in first
    assert 'class="load-more"' in first
    import re

    more = re.search(r'hx-get="(/local\?max_id=\d+)"', first).group(1)
    page = client.get(more, **HX)
    html = page.content.decode()
    assert "<html" not in html and "Post number 04" in html and "Post number 24" not in html
    plain = client.get(more).content.decode()  # the same link works without JavaScript
    assert "<html" in plain and "Post number 04" in plain


def test_search_finds_people_tags_and_posts(world, client_for):
    make_post(world.alice, "Gardening with #Tomatoes")
    html = client_for(world.bob).get("/search", {"q": "gardening"}).content.decode()
    assert "Gardening with" in html
    tags = client_for(world.bob).get("/search", {"q": "#tomato"}).content.decode()
    assert 'href="/tags/tomatoes"' in tags
    people = client_for(None).get("/search", {"q": "ali"}).content.decode()
    assert 'href="/@alice"' in people
    assert client_for(None).get("/search").status_code == 200
    assert client_for(None).get("/search", {"q": "x" * 500}).status_code == 200


# --- Profiles


def test_profile_pages(world, client_for, media_dir):
    make_post(world.alice, "A top-level post")
    own = make_post(world.alice, "Talking to myself")
    make_post(world.alice, "A reply to myself", in_reply_to_id=own.pk)
    other = make_post(world.bob, "Bob's post")
    make_post(world.alice, "@bob a reply to bob", in_reply_to_id=other.pk)
    m = upload_media(world.alice, image_bytes(), description="A pink square")
    create_post(world.alice, Draft(text="With a picture", media_ids=[m.pk]))
    client = client_for(None)

    posts = client.get("/@alice").content.decode()
    assert "Alice Liddell" in posts and "@alice" in posts
    assert "A top-level post" in posts and "A reply to myself" in posts and "a reply to bob" not in posts
    replies = client.get("/@alice/with_replies").content.decode()
    assert "a reply to bob" in replies
    media = client.get("/@alice/media").content.decode()
    assert 'alt="A pink square"' in media and "A top-level post" not in media
    followers = client.get("/@alice/followers").content.decode()
    assert 'href="/@bob"' in followers and 'href="/@dave"' in followers
    following = client.get("/@bob/following").content.decode()
    assert 'href="/@alice"' in following and 'href="/@carol"' in following


def test_profile_shows_bio_fields_and_counts(world, client_for):
    from rostra.accounts.actions import ProfileUpdate, update_profile

    update_profile(world.alice, ProfileUpdate(note="Down the #rabbit hole", fields=[("Website", "https://alice.example")]))
    html = client_for(None).get("/@Alice").content.decode()
    assert "Down the" in html and 'href="/tags/rabbit"' in html
    assert "Website" in html and "https://alice.example" in html
    assert "<strong>2</strong> followers" in html


def test_unknown_and_suspended_profiles_are_404(world, client_for):
    assert client_for(None).get("/@nobody").status_code == 404
    Account.objects.filter(pk=world.dave.pk).update(suspended_at=timezone.now())
    for url in ("/@dave", "/@dave/followers", "/@dave/media"):
        assert client_for(world.alice).get(url).status_code == 404


def test_a_locked_profile_says_so(world, client_for):
    html = client_for(world.dave).get("/@carol").content.decode()
    assert "Request to follow" in html and "Approves followers by hand" in html


# --- Threads


def test_thread_page(world, client_for):
    root = make_post(world.alice, "The root")
    middle = make_post(world.bob, "@alice the middle", in_reply_to_id=root.pk)
    leaf = make_post(world.alice, "@bob the leaf", in_reply_to_id=middle.pk)
    client = client_for(world.bob)
    response = client.get(f"/@bob/{middle.pk}")
    assert response.status_code == 200
    html = response.content.decode().split("<main", 1)[1]
    assert html.index("The root") < html.index("the middle") < html.index("the leaf")
    assert 'class="post post-focus"' in html
    assert f'name="in_reply_to" value="{middle.pk}"' in html
    assert "@alice " in html  # the reply box mentions the author
    anonymous = client_for(None).get(f"/@alice/{leaf.pk}").content.decode()
    assert "to reply" in anonymous and 'name="in_reply_to"' not in anonymous


def test_the_author_in_the_url_must_match(world, client_for):
    post = make_post(world.alice, "By alice")
    assert client_for(None).get(f"/@bob/{post.pk}").status_code == 404
    assert client_for(None).get(f"/@bob/{post.pk}/history").status_code == 404


def test_an_invisible_post_answers_exactly_like_a_missing_one(world, client_for):
    secret = make_post(world.alice, "followers only", visibility="private")
    missing = secret.pk + 1
    for viewer in (None, world.eve, world.dave and world.carol):
        client = client_for(viewer)
        hidden = client.get(f"/@alice/{secret.pk}")
        absent = client.get(f"/@alice/{missing}")
        assert hidden.status_code == absent.status_code == 404
        assert normalise(hidden.content) == normalise(absent.content)
        assert "followers only" not in hidden.content.decode()
        hidden = client.get(f"/@alice/{secret.pk}/history")
        assert hidden.status_code == 404 and normalise(hidden.content) == normalise(client.get(f"/@alice/{missing}/history").content)
    assert client_for(world.bob).get(f"/@alice/{secret.pk}").status_code == 200  # a follower sees it


def test_a_repost_url_leads_to_the_original(world, client_for):
    from rostra.posts.actions import repost

    post = make_post(world.alice, "Original")
    rp = repost(world.bob, post.pk)
    response = client_for(None).get(f"/@bob/{rp.pk}")
    assert response.status_code == 302 and response["Location"] == f"/@alice/{post.pk}"


# --- Notifications


def test_notifications_page_and_unread_count(world, client_for, run_tasks):
    post = make_post(world.alice, "Like this please")
    like(world.bob, post.pk)
    like(world.dave, post.pk)
    make_post(world.bob, "@alice hello there")
    run_tasks()
    client = client_for(world.alice)
    home = client.get("/home").content.decode()
    unread = Notification.objects.filter(recipient=world.alice, read_at__isnull=True).count()
    assert unread >= 3
    assert f'<span class="badge" aria-label="{unread} unread">{unread}</span>' in home
    page = client.get("/notifications").content.decode()
    assert "liked your post" in page and "mentioned you" in page and "followed you" in page
    assert "Bob Builder</a> and <a" in page or "Dave Bowman</a> and <a" in page  # grouped likes
    assert 'class="notification kind-favourite unread"' in page
    assert not Notification.objects.filter(recipient=world.alice, read_at__isnull=True).exists()
    assert 'aria-label="0 unread"' not in client.get("/home").content.decode()
    assert "unread" not in client.get("/notifications").content.decode().split('<main', 1)[1].split("</main>")[0]
    mentions = client.get("/notifications?filter=mentions").content.decode()
    assert "mentioned you" in mentions and "liked your post" not in mentions


# --- About and errors


def test_about_page(world, client_for):
    make_post(world.alice, "Counted")
    html = client_for(None).get("/about").content.decode()
    assert "Maya (moderator)" in html and "Ada (admin)" in html
    assert html.index("Ada (admin)") < html.index("Maya (moderator)")
    assert "<dt>People</dt><dd>7</dd>" in html and "<dt>Posts</dt><dd>1</dd>" in html


def test_unknown_urls_get_the_404_page(db, client_for):
    response = client_for(None).get("/no/such/page")
    assert response.status_code == 404 and "Not found" in response.content.decode()
