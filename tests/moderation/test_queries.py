"""The moderators' reads (``moderation.queries``): who may ask, what the queue and a case show,
and the moderators' decisions as training data for the screener."""

from __future__ import annotations

import pytest

from rostra.core.errors import NotFound
from rostra.moderation import actions, queries
from rostra.moderation.models import Case
from rostra.moderation.queries import QueueFilter
from rostra.posts.actions import Draft, create_post, delete_post
from rostra.posts.models import ModerationState
from rostra.testing.world import make_account

THREAT = "I will kill you tomorrow, I know where you live"
INCITEMENT = "Everyone grab your guns, we march on the capitol tomorrow and hang the traitors"


def _reported(w, author, text, category="spam"):
    post = create_post(author, Draft(text=text))
    case = actions.report(w.bob if author != w.bob else w.dave, post_id=post.pk, category=category).case
    assert case is not None
    return post, case


def test_only_moderators_may_ask(world):
    w = world
    post = create_post(w.alice, Draft(text=THREAT))
    case = Case.objects.get(post=post)
    calls = [
        queries.queue,
        lambda u: queries.case_detail(u, case.pk),
        lambda u: queries.get_case(u, case.pk),
        lambda u: queries.account_history(u, w.alice.pk),
        queries.appeals,
        queries.audit_log,
        lambda u: queries.next_case_id(u, case),
    ]
    for user in (None, w.alice.user, w.bob.user):
        for call in calls:
            with pytest.raises(NotFound):
                call(user)
    for call in calls:
        call(w.mod.user)
        call(w.admin.user)
    with pytest.raises(NotFound):
        queries.case_detail(w.mod.user, "not-an-id")


def test_the_queue_orders_by_priority_filters_and_knows_claims(world):
    w = world
    mona = make_account("mona", role="moderator")
    _, low = _reported(w, w.carol, "Cheap watches here")
    _, high = _reported(w, w.dave, "Cheap watches over here too")
    _, mid = _reported(w, w.eve, "Cheap watches everywhere", category="harassment")
    for case, priority in ((low, 1.0), (high, 9.0), (mid, 5.0)):
        Case.objects.filter(pk=case.pk).update(priority=priority)
        case.refresh_from_db()
    actions.claim(mona.user, mid.pk)
    page = queries.queue(w.mod.user)
    assert [r.case.pk for r in page.rows] == [high.pk, mid.pk, low.pk] and page.total_open == 3
    row = page.rows[1]
    assert row.claimed_by == "@mona" and not row.claimed_by_me and row.sources == ["Report"]
    assert row.excerpt == "Cheap watches everywhere"
    assert [r.case.pk for r in queries.queue(w.mod.user, QueueFilter(category="spam")).rows] == [high.pk, low.pk]
    assert [r.case.pk for r in queries.queue(w.mod.user, QueueFilter(claimed="unclaimed")).rows] == [high.pk, low.pk]
    assert [r.case.pk for r in queries.queue(mona.user, QueueFilter(claimed="mine")).rows] == [mid.pk]
    assert QueueFilter.from_params({"category": "nonsense", "claimed": "yours"}) == QueueFilter()
    # next and previous skip what someone else holds; going forward wraps to the top
    assert queries.next_case_id(w.mod.user, high) == low.pk
    assert queries.next_case_id(w.mod.user, low) == high.pk
    assert queries.next_case_id(w.mod.user, low, backwards=True) == high.pk
    assert queries.next_case_id(w.mod.user, high, backwards=True) is None
    assert queries.next_case_id(mona.user, high) == mid.pk
    # a cursor that is not one starts at the top
    assert queries.queue(w.mod.user, after="garbage_x").rows[0].case.pk == high.pk
    assert queries.queue(w.mod.user, after="nan_1").rows[0].case.pk == high.pk


def test_a_case_shows_held_posts_and_the_whole_thread_to_moderators(world):
    w = world
    root = create_post(w.bob, Draft(text="Who is coming to the match?"))
    held = create_post(w.alice, Draft(text=THREAT, in_reply_to_id=root.pk))
    assert held.moderation_state == ModerationState.HELD
    reply = create_post(w.alice, Draft(text="Lovely weather for a walk", in_reply_to_id=held.pk))  # only she may reply
    case = Case.objects.get(post=held)
    view = queries.case_detail(w.mod.user, case.pk)
    assert view.post is not None and view.post.pk == held.pk
    assert [(t.post.pk, t.is_case_post, t.hidden) for t in view.thread] == [(root.pk, False, False), (held.pk, True, True), (reply.pk, False, False)]
    assert view.decisions and view.decisions[0].top_category == "violence"
    assert view.decisions[0].scores == sorted(view.decisions[0].scores, key=lambda kv: -kv[1])
    assert view.history.account.pk == w.alice.pk and view.history.age_days >= 89
    assert [p.pk for p in view.history.recent_posts] == [reply.pk, held.pk]  # newest first, whatever their state


def test_jury_votes_stay_secret_until_the_jury_decides(world):
    w = world
    jurors = [make_account(f"juror{i}") for i in range(3)]
    from rostra.accounts.models import Account

    Account.objects.filter(pk__in=[j.pk for j in jurors]).update(created_at=w.alice.created_at)
    post = create_post(w.alice, Draft(text=THREAT))
    action = actions.decide_case(w.mod.user, Case.objects.get(post=post).pk, "remove", reason="Threat.").action
    assert action is not None
    appeal = actions.appeal(w.alice, action.pk, "A joke.")
    jury = actions.send_to_jury(w.admin.user, appeal.pk, size=3, days=2)
    seats = list(jury.seats.all())
    actions.vote(Account.objects.get(pk=seats[0].account_id), jury.pk, "reverse", "Banter.")
    view = queries.appeal_detail(w.mod.user, appeal.pk)
    assert view.jury is not None and view.jury.votes_cast == 1 and view.jury.votes == [] and view.jury.is_open
    assert not view.can_decide and view.acted_by_me
    actions.vote(Account.objects.get(pk=seats[1].account_id), jury.pk, "reverse", "No target.")
    view = queries.appeal_detail(w.mod.user, appeal.pk)
    assert view.jury is not None and [s.reason for s in view.jury.votes] == ["Banter.", "No target."]


def test_training_decisions_come_from_what_moderators_decided(world):
    w = world
    removed = create_post(w.alice, Draft(text=THREAT))
    actions.decide_case(w.mod.user, Case.objects.get(post=removed).pk, "remove", category="violence", reason="Threat.")
    limited = create_post(w.bob, Draft(text=INCITEMENT))
    actions.decide_case(w.mod.user, Case.objects.get(post=limited).pk, "limit", category="violence")
    _, fine_case = _reported(w, w.carol, "Our bake sale raised forty pounds")
    actions.decide_case(w.mod.user, fine_case.pk, "dismiss")
    _, approved_case = _reported(w, w.dave, "Come to the farmers market", category="harassment")
    actions.decide_case(w.mod.user, approved_case.pk, "restore")
    # an action reversed on appeal teaches the opposite
    reversed_post = create_post(w.eve, Draft(text="You are all going to die tomorrow"))
    case = Case.objects.filter(post=reversed_post).first() or actions.report(w.bob, post_id=reversed_post.pk, category="violence").case
    assert case is not None
    action = actions.decide_case(w.mod.user, case.pk, "remove", category="violence", reason="Threat.").action
    assert action is not None
    appeal = actions.appeal(w.eve, action.pk, "It is a line from a film about the apocalypse.")
    actions.decide_appeal(w.admin.user, appeal.pk, "reverse", "A quotation.")
    # left out: a post its author deleted, an open case, an account action, a case closed by the system
    gone = create_post(w.alice, Draft(text=INCITEMENT))
    actions.decide_case(w.mod.user, Case.objects.get(post=gone).pk, "remove", category="violence")
    delete_post(w.alice, gone.pk)
    _reported(w, w.carol, "Still open")
    _, warned = _reported(w, w.dave, "Warned about this one")
    actions.decide_case(w.mod.user, warned.pk, "warn")

    rows = queries.training_decisions()
    assert sorted(rows) == sorted([
        (THREAT, "violence", 1),
        (INCITEMENT, "violence", 1),
        ("Our bake sale raised forty pounds", "spam", 0),
        ("Come to the farmers market", "harassment", 0),
        ("You are all going to die tomorrow", "violence", 0),
    ])


def test_training_decisions_keep_the_latest_and_the_content_warning(world):
    w = world
    post = create_post(w.alice, Draft(text="meet me behind the school", spoiler_text="spicy"))
    case = actions.report(w.bob, post_id=post.pk, category="sexual").case
    assert case is not None
    actions.decide_case(w.mod.user, case.pk, "dismiss")
    case = actions.report(w.dave, post_id=post.pk, category="sexual").case
    assert case is not None
    actions.decide_case(w.mod.user, case.pk, "label", category="sexual")
    assert queries.training_decisions() == [("spicy\nmeet me behind the school", "sexual", 1)]
