"""What members see of trust and safety, through the web UI: reporting, banners and content
warnings on cards, notices and appeals, notifications from the moderators, and jury service."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from rostra.accounts.models import Account
from rostra.moderation import actions
from rostra.moderation.models import Appeal, AppealMessage, Case, JurySeat, Notice, Report
from rostra.posts.models import Post
from rostra.testing.world import PASSWORD, make_account, make_post


def _html(response) -> str:
    return response.content.decode()


# ---- reports ---------------------------------------------------------------------------------


def test_report_a_post_with_evidence_then_the_confirmation_offers_mute_and_block(world, client_for):
    post = make_post(world.alice, "Something unkind")
    older = make_post(world.alice, "Something else unkind")
    client = client_for(world.bob)
    form = client.get(f"/report?post={post.pk}")
    assert form.status_code == 200
    html = _html(form)
    assert "Something unkind" in html  # the post being reported
    assert 'name="category" id="category-harassment" value="harassment"' in html
    assert "Harassment" in html and "Do not target a person with abuse" in html  # the policy's title and help
    assert f'name="evidence" id="evidence-{older.pk}" value="{older.pk}"' in html
    assert f'name="evidence" id="evidence-{post.pk}"' not in html  # the reported post is not offered again

    response = client.post("/report", {"post": post.pk, "category": "harassment", "comment": "Aimed at me.", "evidence": [older.pk]})
    report = Report.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/report/sent/{report.pk}"
    assert report.reporter_id == world.bob.pk and report.account_id == world.alice.pk and report.post_id == post.pk
    assert report.category == "harassment" and report.comment == "Aimed at me." and report.evidence_post_ids == [older.pk]
    case = Case.objects.get(post=post, status=Case.Status.OPEN)
    assert report.case_id == case.pk and case.reports_count == 1

    sent = client.get(response["Location"])
    html = _html(sent)
    assert sent.status_code == 200 and "What happens next" in html
    assert 'action="/@alice/mute"' in html and 'action="/@alice/block"' in html
    # someone else's report is not theirs to see
    assert client_for(world.dave).get(response["Location"]).status_code == 404


def test_report_an_account(world, client_for):
    client = client_for(world.bob)
    page = client.get(f"/report?account={world.eve.pk}")
    assert page.status_code == 200 and "Report @eve" in _html(page)
    response = client.post("/report", {"account": world.eve.pk, "category": "spam", "comment": ""})
    assert response.status_code == 302
    report = Report.objects.get()
    assert report.account_id == world.eve.pk and report.post_id is None
    assert Case.objects.get(account=world.eve, post__isnull=True).status == Case.Status.OPEN


def test_an_unknown_category_is_a_clear_error_and_writes_nothing(world, client_for):
    post = make_post(world.alice, "Hello")
    response = client_for(world.bob).post("/report", {"post": post.pk, "category": "nonsense", "comment": "x"})
    assert response.status_code == 400
    html = _html(response)
    assert "Choose what is wrong" in html and 'class="field-errors"' in html
    assert ">x</textarea>" in html  # what was typed is kept
    assert not Report.objects.exists() and not Case.objects.exists()


def test_evidence_from_another_account_is_refused(world, client_for):
    post = make_post(world.alice, "Hello")
    carols = make_post(world.carol, "Carol's own post")  # bob follows carol: he can see it
    response = client_for(world.bob).post("/report", {"post": post.pk, "category": "spam", "evidence": [carols.pk]})
    assert response.status_code == 400 and "Evidence must be posts by the reported account" in _html(response)
    response = client_for(world.bob).post("/report", {"post": post.pk, "category": "spam", "evidence": ["not-an-id"]})
    assert response.status_code == 400
    assert not Report.objects.exists() and not Case.objects.exists()


def test_report_links_show_on_other_peoples_posts_and_profiles_only(world, client_for):
    post = make_post(world.alice, "Hello")
    bob = client_for(world.bob)
    assert f'href="/report?post={post.pk}"' in _html(bob.get(f"/@alice/{post.pk}"))
    assert f'href="/report?account={world.alice.pk}"' in _html(bob.get("/@alice"))
    alice = client_for(world.alice)
    assert "/report?" not in _html(alice.get(f"/@alice/{post.pk}"))
    assert "/report?" not in _html(alice.get("/@alice"))
    # and you cannot report yourself by typing the address
    assert alice.get(f"/report?post={post.pk}").status_code == 400


def test_reporting_needs_sign_in_and_a_visible_target(world, client_for):
    post = make_post(world.alice, "Hello")
    response = client_for(None).get(f"/report?post={post.pk}")
    assert response.status_code == 302 and response["Location"].startswith("/login?next=")
    assert client_for(None).post("/report", {"post": post.pk, "category": "spam"}).status_code == 302
    assert not Report.objects.exists()
    # eve is blocked by alice: alice's posts do not exist for her
    assert client_for(world.eve).get(f"/report?post={post.pk}").status_code == 404
    assert client_for(world.bob).get("/report").status_code == 404


def test_a_post_held_since_it_was_seen_can_still_be_reported_without_showing_it_again(world, client_for):
    post = make_post(world.alice, "Held words")
    actions.act_on_post(world.mod.user, post.pk, "hold", category="violence")
    client = client_for(world.bob)
    page = client.get(f"/report?post={post.pk}")
    assert page.status_code == 200
    html = _html(page)
    assert "Held words" not in html and "already waiting for a moderator" in html
    assert client.post("/report", {"post": post.pk, "category": "violence"}).status_code == 302
    assert Report.objects.get().post_id == post.pk


# ---- banners and content warnings ------------------------------------------------------------

HELD = "Only you can see this post: it is waiting for a moderator\u2019s review."
REMOVED = "A moderator removed this post. Only you can see it."


def test_a_held_post_shows_its_banner_to_its_author_only(world, client_for):
    post = make_post(world.alice, "Waiting")
    actions.act_on_post(world.mod.user, post.pk, "hold", category="violence")
    alice = client_for(world.alice)
    assert HELD in _html(alice.get(f"/@alice/{post.pk}"))
    assert HELD in _html(alice.get("/@alice"))
    assert client_for(world.bob).get(f"/@alice/{post.pk}").status_code == 404
    assert HELD not in _html(client_for(world.bob).get("/@alice"))


def test_a_removed_post_links_its_author_to_the_notice(world, client_for):
    post = make_post(world.alice, "Gone")
    action = actions.act_on_post(world.mod.user, post.pk, "remove", reason="A threat.", category="violence")
    alice = client_for(world.alice)
    html = _html(alice.get(f"/@alice/{post.pk}"))
    assert REMOVED in html and f'href="/notices/post/{post.pk}"' in html
    response = alice.get(f"/notices/post/{post.pk}")
    assert response.status_code == 302 and response["Location"] == f"/notices/{action.pk}"
    # the link knows only the viewer's own notices
    assert client_for(world.bob).get(f"/notices/post/{post.pk}")["Location"] == "/notices"
    assert client_for(world.bob).get(f"/@alice/{post.pk}").status_code == 404


def test_limited_reach_is_a_small_note_for_the_author(world, client_for):
    post = make_post(world.alice, "Quietly")
    actions.act_on_post(world.mod.user, post.pk, "limit", reason="Borderline.", category="harassment")
    assert "Limited reach" in _html(client_for(world.alice).get(f"/@alice/{post.pk}"))
    other = _html(client_for(world.bob).get(f"/@alice/{post.pk}"))
    assert "Quietly" in other and "Limited reach" not in other


def test_a_labelled_post_is_behind_a_content_warning_for_everyone(world, client_for):
    post = make_post(world.alice, "Explicit words")
    actions.act_on_post(world.mod.user, post.pk, "label", reason="Adult content.", category="sexual")
    for viewer in (world.bob, None, world.alice):
        html = _html(client_for(viewer).get(f"/@alice/{post.pk}"))
        cw = html[html.index('<details class="cw">'):]
        assert cw.index("Sexual content") < cw.index("Explicit words") < cw.index("</details>")
    # the author's own warning is shown too
    own = make_post(world.alice, "More words", spoiler_text="My own warning")
    actions.act_on_post(world.mod.user, own.pk, "label", category="sexual")
    html = _html(client_for(world.bob).get(f"/@alice/{own.pk}"))
    assert "Sexual content" in html and "My own warning" in html


# ---- notices and appeals ---------------------------------------------------------------------


def _removed(world, text="Gone"):
    post = make_post(world.alice, text)
    return post, actions.act_on_post(world.mod.user, post.pk, "remove", reason="A direct threat.", category="violence")


def test_the_notice_is_for_its_person_only_and_opening_it_reads_it(world, client_for):
    _, action = _removed(world, "I know where you live")
    notice = Notice.objects.get(action=action)
    alice = client_for(world.alice)
    listing = alice.get("/notices")
    assert listing.status_code == 200 and notice.subject in _html(listing) and 'class="state-badge">New<' in _html(listing)
    page = alice.get(f"/notices/{action.pk}")
    assert page.status_code == 200
    html = _html(page)
    for text in (notice.subject, "Violence and incitement", "A direct threat.", "I know where you live", "policy version", "Send appeal"):
        assert text in html
    notice.refresh_from_db()
    assert notice.read_at is not None
    for other in (world.bob, world.mod):
        assert client_for(other).get(f"/notices/{action.pk}").status_code == 404
        assert client_for(other).post(f"/notices/{action.pk}/appeal", {"statement": "mine"}).status_code == 404
    assert client_for(None).get(f"/notices/{action.pk}").status_code == 302
    assert alice.get("/notices/12345").status_code == 404
    assert not Appeal.objects.exists()


def test_an_appeal_is_sent_shows_in_the_conversation_and_cannot_be_sent_twice(world, client_for):
    _, action = _removed(world)
    alice = client_for(world.alice)
    empty = alice.post(f"/notices/{action.pk}/appeal", {"statement": "  "})
    assert empty.status_code == 400 and "Say why the decision is wrong" in _html(empty)
    assert not Appeal.objects.exists()
    response = alice.post(f"/notices/{action.pk}/appeal", {"statement": "It was a quote from a film.", "next": f"/notices/{action.pk}"})
    assert response.status_code == 302
    html = _html(alice.get(f"/notices/{action.pk}"))
    assert "It was a quote from a film." in html and "Waiting for a moderator" in html
    assert "Send appeal" not in html and f'action="/notices/{action.pk}/messages"' in html
    again = alice.post(f"/notices/{action.pk}/appeal", {"statement": "Again", "next": f"/notices/{action.pk}"})
    assert again.status_code == 302 and again["Location"] == f"/notices/{action.pk}"
    assert Appeal.objects.count() == 1
    assert "already appealed" in _html(alice.get(f"/notices/{action.pk}"))
    # a reply joins the conversation
    assert alice.post(f"/notices/{action.pk}/messages", {"body": "The film is Heat (1995)."}).status_code == 302
    assert AppealMessage.objects.filter(appeal__action=action).count() == 2
    assert "The film is Heat (1995)." in _html(alice.get(f"/notices/{action.pk}"))


def test_a_decided_appeal_shows_the_decision_and_closes_the_conversation(world, client_for, run_tasks):
    _, action = _removed(world)
    appeal = actions.appeal(world.alice, action.pk, "Please look again.")
    other = make_account("mona", role="moderator")
    actions.decide_appeal(other.user, appeal.pk, "uphold", "Naming where someone lives makes it a threat.")
    run_tasks()
    alice = client_for(world.alice)
    html = _html(alice.get(f"/notices/{action.pk}"))
    assert "did not succeed" in html and "Naming where someone lives makes it a threat." in html
    assert f'action="/notices/{action.pk}/messages"' not in html
    notes = _html(alice.get("/notifications"))
    assert "your appeal was decided" in notes
    assert any("Your appeal was decided" in m.subject for m in mail.outbox)


def test_notices_reach_notifications_and_email_with_links(world, client_for, run_tasks):
    mail.outbox.clear()
    post, action = _removed(world)
    actions.act_on_account(world.mod.user, world.alice.pk, "warn", reason="Please be kinder.", category="harassment")
    run_tasks()
    subjects = [m.subject for m in mail.outbox]
    assert any("Your post was removed" in s for s in subjects) and any("A warning from the moderators" in s for s in subjects)
    alice = client_for(world.alice)
    html = _html(alice.get("/notifications"))
    assert html.count("The moderators:") == 2
    rows = html[html.index('<div class="notifications"'):]
    links = re.findall(r'href="(/notices[^"]*)"', rows)
    assert len(links) == 2
    # each link leads to a page that tells what happened
    reached = "".join(_html(alice.get(link, follow=True)) for link in links)
    assert "Your post was removed" in reached and "A warning from the moderators" in reached
    assert f'href="/notices/post/{post.pk}"' in rows or f'href="/notices/{action.pk}"' in rows
    # nobody else sees them
    assert "The moderators:" not in _html(client_for(world.bob).get("/notifications"))


def test_a_suspended_person_can_sign_in_read_the_notice_and_appeal_but_not_post(world, client, run_tasks):
    action = actions.act_on_account(world.mod.user, world.alice.pk, "suspend", reason="Repeated threats.", days=7, category="violence")
    run_tasks()
    signed_in = client.post("/login", {"username": "alice", "password": PASSWORD, "next": "/notices"})
    assert signed_in.status_code == 302 and signed_in["Location"] == "/notices"
    assert "Your account is suspended" in _html(client.get("/notices"))
    page = client.get(f"/notices/{action.pk}")
    assert page.status_code == 200 and "Repeated threats." in _html(page) and "Until " in _html(page)
    assert client.post(f"/notices/{action.pk}/appeal", {"statement": "I was hacked."}).status_code == 302
    assert Appeal.objects.get().account_id == world.alice.pk
    assert client.post("/compose", {"text": "Still here", "visibility": "public"}).status_code == 403
    assert not Post.objects.filter(text="Still here").exists()


# ---- the community jury ----------------------------------------------------------------------


@pytest.fixture
def jury_case(world, run_tasks):
    """alice's post (naming the moderator) removed by maya, appealed, sent by mona to a jury of 3."""
    jurors = [make_account(f"juror{i}") for i in range(3)]
    Account.objects.filter(pk__in=[j.pk for j in jurors]).update(created_at=world.alice.created_at)
    post = make_post(world.alice, "maya, you will regret this, I know where you live")
    action = actions.act_on_post(world.mod.user, post.pk, "remove", reason="A threat against @maya.", category="violence")
    appeal = actions.appeal(world.alice, action.pk, "I am Alice Liddell and it was a line from a play.")
    other_mod = make_account("mona", role="moderator")
    jury = actions.send_to_jury(other_mod.user, appeal.pk, size=3, days=2)
    run_tasks()
    seated = [Account.objects.get(pk=s.account_id) for s in jury.seats.order_by("id")]
    return jury, seated, action


def test_the_jury_page_hides_the_parties_names(world, client_for, jury_case):
    jury, seated, _ = jury_case
    juror = client_for(seated[0])
    listing = juror.get("/jury")
    assert listing.status_code == 200 and f'href="/jury/{jury.pk}"' in _html(listing)
    notes = _html(juror.get("/notifications"))
    assert 'href="/jury"' in notes and "community jury" in notes
    page = juror.get(f"/jury/{jury.pk}")
    assert page.status_code == 200
    html = _html(page)
    assert "Removed the post" in html and "Violence and incitement" in html and "Do not threaten anyone" in html
    assert "it was a line from a play" in html and "you will regret this" in html and "A threat against" in html
    for name in ("alice", "Alice", "Liddell", "maya", "Maya", "mona"):
        assert name not in html, name
    assert "[the person]" in html and "[the moderator]" in html


def test_only_seated_jurors_see_the_case(world, client_for, jury_case):
    jury, _, _ = jury_case
    for outsider in (world.bob, world.alice, world.mod):
        assert client_for(outsider).get(f"/jury/{jury.pk}").status_code == 404
        assert client_for(outsider).post(f"/jury/{jury.pk}/vote", {"vote": "reverse", "reason": "x"}).status_code == 404
    assert client_for(None).get(f"/jury/{jury.pk}").status_code == 302


def test_a_vote_needs_a_reason_and_the_outcome_shows_every_reason(world, client_for, jury_case):
    jury, seated, action = jury_case
    first, second, third = (client_for(a) for a in seated)
    missing = first.post(f"/jury/{jury.pk}/vote", {"vote": "reverse", "reason": " "})
    assert missing.status_code == 400 and "Write the reason for your vote" in _html(missing)
    assert not JurySeat.objects.filter(jury=jury, status=JurySeat.Status.VOTED).exists()
    assert first.post(f"/jury/{jury.pk}/vote", {"vote": "reverse", "reason": "A line from a play."}).status_code == 302
    html = _html(first.get(f"/jury/{jury.pk}"))
    assert "You voted to reverse" in html and "Cast my vote" not in html
    assert "A line from a play." in html and "Juror 1" not in html  # others' reasons wait for the end
    assert third.post(f"/jury/{jury.pk}/recuse", {"reason": "I know them"}).status_code == 302
    assert second.post(f"/jury/{jury.pk}/vote", {"vote": "reverse", "reason": "No real target."}).status_code == 302
    html = _html(first.get(f"/jury/{jury.pk}"))
    assert "The jury decided to <strong>reverse</strong>" in html
    assert "A line from a play." in html and "No real target." in html and "Juror 2" in html
    assert Appeal.objects.get(action=action).status == Appeal.Status.REVERSED
    # once decided, nobody can vote again
    late = second.post(f"/jury/{jury.pk}/vote", {"vote": "uphold", "reason": "Changed my mind", "next": f"/jury/{jury.pk}"})
    assert late.status_code == 302 and JurySeat.objects.filter(jury=jury, vote="uphold").count() == 0
