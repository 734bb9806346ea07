"""The member's side of trust and safety, read through ``moderation.inbox``: each read answers
the person it is about and no one else."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rostra.accounts.models import Account
from rostra.core.clock import now
from rostra.core.errors import NotFound
from rostra.moderation import actions, inbox
from rostra.moderation.models import CATEGORY_CHOICES, Jury, ModAction
from rostra.posts.models import Visibility
from rostra.testing.world import make_account, make_post

BENIGN = "lovely weather for a walk in the park today"


def _remove(world, text=BENIGN, reason="Reviewed: breaks the rule."):
    post = make_post(world.alice, text)
    return post, actions.act_on_post(world.mod.user, post.pk, "remove", reason=reason, category="harassment")


# ---- reporting -------------------------------------------------------------------------------


def test_report_categories_follow_the_policy_in_force(world):
    cats = inbox.report_categories()
    assert [c.value for c in cats] == [v for v, _ in CATEGORY_CHOICES]
    by_value = {c.value: c for c in cats}
    assert by_value["violence"].title == "Violence and incitement"
    assert by_value["violence"].help.startswith("Do not threaten anyone") and by_value["violence"].help.endswith(".")
    assert by_value["other"].help  # not in the policy, still explained


def test_a_report_target_is_something_the_reporter_can_see(world):
    post = make_post(world.alice, BENIGN)
    target = inbox.report_target(world.bob, post_id=post.pk)
    assert target.account.pk == world.alice.pk and target.post is not None and target.visible
    with pytest.raises(NotFound):
        inbox.report_target(world.eve, post_id=post.pk)  # blocked by alice
    private = make_post(world.alice, BENIGN + " again", visibility=Visibility.PRIVATE)
    with pytest.raises(NotFound):
        inbox.report_target(world.carol, post_id=private.pk)  # not a follower
    # held since it was seen: public posts can still be reported, without being shown
    actions.act_on_post(world.mod.user, post.pk, "hold", category="violence")
    held = inbox.report_target(world.bob, post_id=post.pk)
    assert held.post is not None and not held.visible
    actions.act_on_post(world.mod.user, private.pk, "hold", category="violence")
    with pytest.raises(NotFound):
        inbox.report_target(world.bob, post_id=private.pk)  # bob follows alice, but a held private post is not reportable
    assert inbox.report_target(world.bob, account_id=world.eve.pk).post is None
    with pytest.raises(NotFound):
        inbox.report_target(world.bob)


def test_evidence_choices_are_the_accounts_own_visible_posts(world):
    reported = make_post(world.alice, BENIGN)
    other = make_post(world.alice, "a second walk in the park")
    private = make_post(world.alice, "a third walk", visibility=Visibility.PRIVATE)
    make_post(world.bob, "bob's walk")
    target = inbox.report_target(world.carol, post_id=reported.pk)
    assert [p.pk for p in inbox.evidence_choices(world.carol, target)] == [other.pk]  # carol does not follow alice
    target = inbox.report_target(world.bob, post_id=reported.pk)
    assert [p.pk for p in inbox.evidence_choices(world.bob, target)] == [private.pk, other.pk]


def test_a_report_is_read_by_its_reporter_only(world):
    rep = actions.report(world.bob, account_id=world.eve.pk, category="spam")
    assert inbox.own_report(world.bob, rep.pk).pk == rep.pk
    with pytest.raises(NotFound):
        inbox.own_report(world.alice, rep.pk)


# ---- notices ---------------------------------------------------------------------------------


def test_notices_are_the_persons_own_newest_first(world):
    _, first = _remove(world)
    second = actions.act_on_account(world.mod.user, world.alice.pk, "warn", reason="Be kind.", category="harassment")
    actions.act_on_account(world.mod.user, world.bob.pk, "warn", reason="Be kind too.", category="harassment")
    rows = inbox.notices(world.alice)
    assert [r.action.pk for r in rows] == [second.pk, first.pk]
    assert all(r.unread for r in rows) and inbox.unread_notices(world.alice) == 2
    actions.mark_notice_read(world.alice, first.pk)
    assert inbox.unread_notices(world.alice) == 1
    assert [r.action.pk for r in inbox.notices(world.bob)] != [first.pk]


def test_a_notice_is_for_the_person_acted_against_only(world):
    post, action = _remove(world)
    detail = inbox.notice(world.alice, action.pk)
    assert detail.rule == "Harassment" and detail.guideline.startswith("Do not target a person")
    assert detail.action.reason == "Reviewed: breaks the rule."
    assert detail.evidence[0].post_id == post.pk and BENIGN in detail.evidence[0].excerpt
    assert all(isinstance(title, str) and 0.0 <= score <= 1.0 for title, score in detail.evidence[0].scores)
    assert len(detail.evidence[0].scores) <= 3
    assert detail.post is not None and detail.can_appeal and not detail.appeal_window_closed
    assert detail.what_happened.startswith("A moderator removed your post")
    for other in (world.bob, world.mod, world.admin):
        with pytest.raises(NotFound):
            inbox.notice(other, action.pk)
    assert inbox.notice_action_for_post(world.alice, post.pk) == action.pk
    assert inbox.notice_action_for_post(world.bob, post.pk) is None


def test_the_appeal_and_its_conversation_as_the_person_sees_it(world):
    _, action = _remove(world)
    appeal = actions.appeal(world.alice, action.pk, "Please look again.")
    actions.appeal_message(world.mod.user, appeal.pk, "Which part do you mean?")
    actions.appeal_message(world.alice.user, appeal.pk, "All of it.")
    detail = inbox.notice(world.alice, action.pk)
    assert not detail.can_appeal and detail.can_message and not detail.decided
    assert [(m.who, m.body) for m in detail.messages] == [
        ("You", "Please look again."), ("The moderators", "Which part do you mean?"), ("You", "All of it."),
    ]
    other = make_account("mona", role="moderator")
    actions.decide_appeal(other.user, appeal.pk, "reverse", "Fair enough.")
    detail = inbox.notice(world.alice, action.pk)
    assert detail.decided and not detail.can_message and detail.appeal is not None and detail.appeal.decision_reason == "Fair enough."
    assert detail.action.reversed_at is not None


def test_after_ninety_days_the_notice_says_the_window_has_closed(world):
    _, action = _remove(world)
    ModAction.objects.filter(pk=action.pk).update(created_at=now() - timedelta(days=91))
    detail = inbox.notice(world.alice, action.pk)
    assert not detail.can_appeal and detail.appeal_window_closed


# ---- the jury --------------------------------------------------------------------------------


@pytest.fixture
def jury(world):
    jurors = [make_account(f"juror{i}") for i in range(3)]
    Account.objects.filter(pk__in=[j.pk for j in jurors]).update(created_at=world.alice.created_at)
    _, action = _remove(world, "Maya is wrong about the park", reason="Aimed at @maya personally.")
    appeal = actions.appeal(world.alice, action.pk, "I, Alice Liddell (@alice), only disagreed with maya.")
    other = make_account("mona", role="moderator")
    return actions.send_to_jury(other.user, appeal.pk, size=3, days=2)


def test_a_juror_sees_the_case_without_the_parties_names(world, jury):
    seat = jury.seats.order_by("id").first()
    juror = Account.objects.get(pk=seat.account_id)
    [row] = inbox.jury_seats(juror)
    assert row.jury.pk == jury.pk and row.what == "Removed the post" and row.rule == "Harassment" and not row.finished
    case = inbox.jury_case(juror, jury.pk)
    assert case.can_vote and case.guideline.startswith("Do not target a person")
    text = " ".join([case.reason, case.statement, *(e.excerpt for e in case.evidence)])
    for name in ("alice", "Alice", "Liddell", "maya", "Maya"):
        assert name not in text
    assert case.statement == "I, [the person] ([the person]), only disagreed with [the moderator]."
    assert case.evidence[0].excerpt == "[the moderator] is wrong about the park"
    for outsider in (world.alice, world.bob, world.mod):
        with pytest.raises(NotFound):
            inbox.jury_case(outsider, jury.pk)
    assert inbox.jury_seats(world.bob) == []


def test_jurors_reasons_are_shown_once_the_jury_has_finished(world, jury):
    first, second, _third = (Account.objects.get(pk=s.account_id) for s in jury.seats.order_by("id"))
    actions.vote(first, jury.pk, "uphold", "It named maya directly.")
    case = inbox.jury_case(first, jury.pk)
    assert not case.can_vote and case.reasons == []  # not until the end
    Jury.objects.filter(pk=jury.pk).update(deadline=now() - timedelta(minutes=1))
    case = inbox.jury_case(second, jury.pk)
    assert case.finished and not case.can_vote
    assert [(r.vote, r.reason) for r in case.reasons] == [("uphold", "It named [the moderator] directly.")]
    assert case.votes == {"reverse": 0, "uphold": 1}
