"""A world where alice owns one of everything an archive holds."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field

import pytest

from rostra.accounts import actions as accounts
from rostra.accounts.models import Account
from rostra.portability import actions as portability
from rostra.portability.models import Export
from rostra.posts import actions as posts
from rostra.posts.models import Post
from rostra.testing.images import image_with_gps, png_bytes
from rostra.testing.world import make_post
from rostra.timelines import lists


@dataclass
class Busy:
    alice: Account
    posts: dict[str, Post] = field(default_factory=dict)
    media_files: list[str] = field(default_factory=list)


@pytest.fixture
def busy(world, media_dir, run_tasks) -> Busy:
    w = world
    alice = accounts.update_profile(
        w.alice,
        accounts.ProfileUpdate(
            note="I read a lot",
            fields=[("Site", "https://example.org"), ("Pronouns", "she/her")],
            avatar=image_with_gps("JPEG"),
            header=png_bytes((40, 20)),
        ),
    )
    b = Busy(alice)
    # People: bob and dave (dave without reposts, with notices), carol (locked: she accepts).
    accounts.follow(alice, w.bob)
    accounts.follow(alice, w.dave)
    accounts.set_follow_options(alice, w.dave, show_reposts=False, notify=True)
    accounts.follow(alice, w.carol)
    accounts.accept_follow_request(w.carol, alice.pk)
    accounts.mute(alice, w.dave, hide_notifications=False)  # alice already blocks eve (the world)
    friends = lists.create_list(alice, lists.ListDraft(title="Friends"))
    lists.add_members(alice, friends.pk, [w.bob.pk, w.carol.pk])
    odd = lists.create_list(alice, lists.ListDraft(title="=SUM(1)"))  # a name a spreadsheet would run
    lists.add_members(alice, odd.pk, [w.dave.pk])
    # Posts of every visibility, with media, a hashtag, mentions, a reply, a repost and a quote.
    photo = posts.upload_media(alice, image_with_gps("JPEG"), description="A red kite over the hill")
    b.media_files.append(photo.file)
    bob_post = make_post(w.bob, "bob says hello")
    bob_other = make_post(w.bob, "bob's second")
    b.posts.update(
        bob=bob_post,
        bob_other=bob_other,
        public=make_post(alice, "Look #birds @bob", media_ids=[photo.pk]),
        unlisted=make_post(alice, "quietly", visibility="unlisted"),
        private=make_post(alice, "for followers @dave", visibility="private"),
        direct=make_post(alice, "just you @bob", visibility="direct"),
        reply=make_post(alice, "hello back", in_reply_to_id=bob_post.pk),
        quote=make_post(alice, "see this", quote_of_id=bob_other.pk),
    )
    b.posts["repost"] = posts.repost(alice, bob_other.pk)
    posts.like(alice, bob_post.pk)
    posts.bookmark(alice, bob_other.pk)
    run_tasks()
    b.alice = Account.objects.get(pk=alice.pk)
    return b


def archive_of(export: Export, media_dir) -> zipfile.ZipFile:
    export.refresh_from_db()
    path = media_dir.parent / "exports" / str(export.account_id) / export.file_name
    return zipfile.ZipFile(io.BytesIO(path.read_bytes()))


def make_archive(account: Account, run_tasks) -> Export:
    export = portability.request_export(account)
    run_tasks()
    export.refresh_from_db()
    return export
