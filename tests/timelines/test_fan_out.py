"""Home timelines: fan-out on write, backfill on follow, removal on unfollow and block."""

from __future__ import annotations

from rostra.accounts import actions as accounts
from rostra.core.pagination import PageRequest
from rostra.posts import actions as posts
from rostra.posts.models import Post
from rostra.testing.world import make_account, make_post
from rostra.timelines.actions import fan_out_post, rebuild_home
from rostra.timelines.queries import home
from tests.timelines import homes


def _home(account) -> list[int]:
    return [p.pk for p in home(account, PageRequest(limit=40)).items]


def _owners(post) -> set[int]:
    return homes.owners(post)


def test_followers_get_a_post_and_others_do_not(world, run_tasks):
    w = world
    post = make_post(w.alice, "to my followers")
    run_tasks()
    assert _owners(post) == {w.alice.pk, w.bob.pk, w.dave.pk}
    for viewer in (w.alice, w.bob, w.dave):
        assert post.pk in _home(viewer)
    for viewer in (w.carol, w.eve, w.mod):
        assert post.pk not in _home(viewer)


def test_fan_out_is_idempotent(world, run_tasks):
    post = make_post(world.alice, "once")
    run_tasks()
    assert fan_out_post(post.pk) == 3
    assert len(_owners(post)) == 3


def test_unlisted_and_private_reach_followers(world, run_tasks):
    w = world
    unlisted = make_post(w.alice, "quietly", visibility="unlisted")
    private = make_post(w.alice, "just you, and @carol", visibility="private")
    run_tasks()
    assert _owners(unlisted) == {w.alice.pk, w.bob.pk, w.dave.pk}
    assert _owners(private) == {w.alice.pk, w.bob.pk, w.dave.pk, w.carol.pk}  # carol is mentioned


def test_replies_reach_only_followers_of_both(world, run_tasks):
    w = world  # bob follows alice and carol; dave follows alice only
    carols = make_post(w.carol, "a question")
    reply = make_post(w.alice, "an answer", in_reply_to_id=carols.pk)
    self_reply = make_post(w.alice, "and a thread", in_reply_to_id=reply.pk)
    run_tasks()
    assert _owners(reply) == {w.alice.pk, w.bob.pk}
    assert reply.pk in _home(w.bob) and reply.pk not in _home(w.dave)
    assert _owners(self_reply) == {w.alice.pk, w.bob.pk, w.dave.pk}


def test_direct_posts_reach_only_the_mentioned(world, run_tasks):
    w = world
    post = make_post(w.alice, "@dave @carol between us", visibility="direct")
    run_tasks()
    assert _owners(post) == {w.alice.pk, w.dave.pk, w.carol.pk}
    assert post.pk in _home(w.dave) and post.pk not in _home(w.bob)


def test_held_posts_never_fan_out(world, run_tasks):
    w = world
    post = make_post(w.alice, "borderline")
    # The gate's decision arrives before the pipeline runs (what a held post looks like).
    Post.objects.filter(pk=post.pk).update(moderation_state="held")
    run_tasks()
    assert _owners(post) == set()
    for viewer in (w.bob, w.dave):
        assert post.pk not in _home(viewer)
    # Removed posts do not either; limited ones do (they stay off public surfaces only).
    removed, limited = make_post(w.alice, "removed"), make_post(w.alice, "limited")
    Post.objects.filter(pk=removed.pk).update(moderation_state="removed")
    Post.objects.filter(pk=limited.pk).update(moderation_state="limited")
    run_tasks()
    assert _owners(removed) == set()
    assert _owners(limited) == {w.alice.pk, w.bob.pk, w.dave.pk}


def test_a_post_held_after_fan_out_leaves_every_home(world, run_tasks):
    post = make_post(world.alice, "seemed fine")
    run_tasks()
    Post.objects.filter(pk=post.pk).update(moderation_state="held")
    assert post.pk not in _home(world.bob)
    assert post.pk in _home(world.alice)  # its author still sees it


def test_reposts_reach_the_reposters_followers(world, run_tasks):
    w = world
    fan = make_account("fan")
    accounts.follow(fan, w.bob)
    post = make_post(w.carol, "carol's words")
    rp = posts.repost(w.bob, post.pk)
    run_tasks()
    assert rp.pk in _home(fan)
    hidden = make_account("hidden")
    accounts.follow(hidden, w.bob)
    from rostra.accounts.models import Follow

    Follow.objects.filter(follower=hidden).update(show_reposts=False)
    rp2 = posts.repost(w.bob, make_post(w.carol, "more").pk)
    run_tasks()
    assert rp2.pk in _home(fan) and rp2.pk not in _home(hidden)


def test_blocks_and_mutes_stop_fan_out(world, run_tasks):
    w = world
    accounts.mute(w.dave, w.alice)
    post = make_post(w.alice, "hello")
    # eve follows bob; bob reposts alice, who blocks eve: eve gets nothing.
    accounts.follow(w.eve, w.bob)
    rp = posts.repost(w.bob, post.pk)
    run_tasks()
    assert w.dave.pk not in _owners(post)
    assert w.eve.pk not in _owners(rp)
    assert rp.pk not in _home(w.eve)


def test_backfill_on_follow(world, run_tasks):
    w = world
    public = make_post(w.carol, "public")
    private = make_post(w.carol, "followers only", visibility="private")
    direct = make_post(w.carol, "@bob hi", visibility="direct")
    reply_to_other = make_post(w.carol, "to alice", in_reply_to_id=make_post(w.alice, "q").pk)
    held = make_post(w.carol, "held")
    Post.objects.filter(pk=held.pk).update(moderation_state="held")
    shared = posts.repost(w.carol, make_post(w.bob, "bob's").pk)
    shared_then_held = posts.repost(w.carol, make_post(w.bob, "bob's, held later").pk)
    Post.objects.filter(pk=shared_then_held.repost_of_id).update(moderation_state="held")
    shared_from_blocker = posts.repost(w.carol, make_post(w.mod, "maya's").pk)
    accounts.block(w.mod, w.dave)
    run_tasks()
    assert accounts.follow(w.dave, w.carol) == "requested"
    run_tasks()
    assert public.pk not in _home(w.dave)  # nothing until carol says yes
    accounts.accept_follow_request(w.carol, w.dave.pk)
    run_tasks()
    assert public.pk in _home(w.dave) and private.pk in _home(w.dave) and shared.pk in _home(w.dave)
    for post in (direct, reply_to_other, held, shared_then_held, shared_from_blocker):
        assert post.pk not in _home(w.dave)
        assert not homes.holds(w.dave, post)


def test_unfollow_removes_their_posts(world, run_tasks):
    w = world
    post = make_post(w.alice, "hi")
    mention = make_post(w.alice, "hi @bob")
    run_tasks()
    accounts.unfollow(w.bob, w.alice)
    run_tasks()
    assert post.pk not in _home(w.bob)
    assert not homes.holds(w.bob, post)
    assert mention.pk in _home(w.bob)  # what mentions you stays


def test_block_removes_posts_both_ways(world, run_tasks):
    w = world
    accounts.follow(w.alice, w.bob)
    by_alice, by_bob = make_post(w.alice, "a"), make_post(w.bob, "b")
    run_tasks()
    assert by_bob.pk in _home(w.alice) and by_alice.pk in _home(w.bob)
    accounts.block(w.bob, w.alice)
    run_tasks()
    assert not homes.holds(w.alice, by_bob)
    assert not homes.holds(w.bob, by_alice)
    assert by_bob.pk not in _home(w.alice) and by_alice.pk not in _home(w.bob)


def test_rebuild_home(world, run_tasks):
    w = world
    posts_ = [make_post(w.alice, f"p{i}") for i in range(3)]
    direct = make_post(w.alice, "@bob psst", visibility="direct")
    run_tasks()
    assert direct.pk in _home(w.bob)  # fan-out puts a direct post in the home of those it mentions
    homes.clear(w.bob)
    rebuild_home(w.bob.pk)
    assert set(_home(w.bob)) >= {p.pk for p in posts_}
    assert direct.pk in _home(w.bob)  # and so does a rebuild (a lost Redis set, a returning reader)


def test_a_rebuilt_home_holds_what_fan_out_put_there(world, run_tasks):
    """After a Redis loss or a long absence a home is rebuilt from the database: it must hold
    exactly what fan-out on write delivered (mentions and followed hashtags included), for everyone."""
    from rostra.timelines.store import get_store, rebuild_ids
    from rostra.timelines.tags import follow_tag

    w = world
    frank = make_account("frank")
    follow_tag(w.carol, "gardens")
    follow_tag(frank, "gardens")
    follow_tag(w.bob, "gardens")
    run_tasks()
    made = [
        make_post(w.alice, "plain"),
        make_post(w.alice, "for followers and @carol", visibility="private"),
        make_post(w.alice, "@frank a word", visibility="direct"),
        make_post(w.eve, "Tomatoes are in #gardens"),  # carol, bob, frank follow the tag; alice blocks eve
        make_post(w.dave, "My #gardens too"),  # bob mutes dave
        make_post(frank, "#gardens and @dave", visibility="public"),  # bob mutes dave, who is mentioned
        make_post(w.carol, "locked but public #gardens"),
        make_post(w.alice, "unlisted", visibility="unlisted"),
        make_post(w.carol, "#gardens unlisted", visibility="unlisted"),
    ]
    reply = make_post(w.bob, "@alice answering", in_reply_to_id=made[0].pk)
    repost = posts.repost(w.bob, made[0].pk)
    bobs = make_post(w.bob, "a question")
    answer = make_post(w.alice, "@bob an answer", in_reply_to_id=bobs.pk)  # bob gets it: it answers him
    doomed = make_post(w.carol, "soon held")
    repost_of_held = posts.repost(w.bob, doomed.pk)
    Post.objects.filter(pk=doomed.pk).update(moderation_state="held")  # before fan-out: the repost reaches no one
    everything = (*made, reply, repost, bobs, answer, doomed, repost_of_held)
    run_tasks()
    store = get_store()
    assert store.has(w.bob.pk, answer.pk)
    for owner in (w.alice, w.bob, w.carol, w.dave, w.eve, frank):
        delivered = {p.pk for p in everything if store.has(owner.pk, p.pk)}
        rebuilt = set(rebuild_ids(owner.pk, 800)) & {p.pk for p in everything}
        assert rebuilt == delivered, owner.username


def test_backfill_after_an_unfollow_adds_nothing(world, run_tasks):
    from rostra.core.models import Event
    from rostra.pipeline.runner import run_event

    w = world
    post = make_post(w.carol, "hello")
    carol = accounts.update_profile(w.carol, accounts.ProfileUpdate(locked=False))
    run_tasks()
    assert accounts.follow(w.dave, carol) == "following"
    accounts.unfollow(w.dave, carol)
    # The queue delivers the unfollow before the follow (a retry, or two workers racing).
    run_event(Event.objects.get(kind="follow.removed", payload__follower_id=w.dave.pk).pk)
    run_tasks()
    assert not homes.holds(w.dave, post)
