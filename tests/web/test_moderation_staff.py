"""The moderators' side of the web UI: queue, case, account, appeals and audit log, without JavaScript."""

from __future__ import annotations

import re

import pytest

from rostra.accounts.models import Account
from rostra.moderation import actions
from rostra.moderation.models import Appeal, AuditEntry, Case, JurySeat, ModAction, Notice
from rostra.posts.actions import Draft, create_post
from rostra.posts.models import ModerationState, Post
from rostra.testing.world import make_account
from tests.web.helpers import normalise

# The shipped policy, so threatening posts are held and reach the queue as they would in production.
pytestmark = pytest.mark.screening

THREAT = "I will kill you tomorrow, I know where you live, watch your back"
INCITEMENT = "Everyone grab your guns, we march on the capitol tomorrow and hang the traitors"


def _held(author: Account, text: str = THREAT) -> tuple[Post, Case]:
    post = create_post(author, Draft(text=text))
    assert post.moderation_state == ModerationState.HELD
    return post, Case.objects.get(post=post, status=Case.Status.OPEN)


def _reported(reporter: Account, author: Account, text: str) -> Case:
    post = create_post(author, Draft(text=text))
    report = actions.report(reporter, post_id=post.pk, category="spam", comment="Same link everywhere")
    assert report.case is not None
    return report.case


def _flash(response) -> str:
    return " ".join(re.findall(r'<p class="flash[^"]*">.*?<span>(.*?)</span></p>', response.content.decode(), re.S))


def _table(html: str) -> str:
    """The audit log's rows, without the filter form's suggestions."""
    return html[html.index("<tbody>"):html.index("</tbody>")]


def test_every_page_is_a_404_for_members_and_visitors(world, client_for):
    w = world
    post, case = _held(w.alice)
    action = actions.decide_case(w.mod.user, case.pk, "remove", reason="Threat.").action
    assert action is not None
    appeal = actions.appeal(w.alice, action.pk, "It was a film quote.")
    pages = [
        "/moderation", f"/moderation/cases/{case.pk}", f"/moderation/accounts/{w.alice.pk}", "/moderation/appeals",
        f"/moderation/appeals/{appeal.pk}", "/moderation/audit",
    ]
    forms = [
        "/moderation/bulk", f"/moderation/cases/{case.pk}/claim", f"/moderation/cases/{case.pk}/release",
        f"/moderation/cases/{case.pk}/decide", f"/moderation/posts/{post.pk}/act", f"/moderation/accounts/{w.alice.pk}/act",
        f"/moderation/appeals/{appeal.pk}/message", f"/moderation/appeals/{appeal.pk}/decide", f"/moderation/appeals/{appeal.pk}/jury",
    ]
    for who in (None, w.alice, w.bob):
        client = client_for(who)
        missing = normalise(client.get(f"/@alice/{post.pk + 1}").content)  # the page of a post that does not exist
        for url in pages + forms:
            for response in (client.get(url), client.post(url, {"kind": "restore", "outcome": "reverse", "reason": "x", "body": "x", "case": case.pk})):
                assert response.status_code == 404, (who, url)
                assert normalise(response.content) == missing, (who, url)  # nothing tells the tools exist
    post.refresh_from_db()
    assert post.moderation_state == ModerationState.REMOVED  # nothing the members sent did anything
    assert Appeal.objects.get(pk=appeal.pk).status == Appeal.Status.OPEN
    for url in pages:
        assert client_for(w.mod).get(url).status_code == 200, url
        assert client_for(w.admin).get(url).status_code == 200, url


def test_a_held_post_is_in_the_queue_with_what_a_moderator_needs(world, client_for):
    w = world
    post, case = _held(w.alice)
    actions.report(w.bob, post_id=post.pk, category="violence", comment="She threatened me")
    html = client_for(w.mod).get("/moderation").content.decode()
    assert f'href="/moderation/cases/{case.pk}"' in html
    assert "Violence and incitement" in html and "I will kill you tomorrow" in html and "@alice" in html
    assert "Screener" in html and "Report" in html and "1 report" in html and "unclaimed" in html
    assert f'name="case" value="{case.pk}"' in html and 'action="/moderation/bulk"' in html
    # filters
    assert f"/moderation/cases/{case.pk}" not in client_for(w.mod).get("/moderation?category=spam").content.decode()
    assert f"/moderation/cases/{case.pk}" in client_for(w.mod).get("/moderation?category=violence&claimed=unclaimed").content.decode()
    assert f"/moderation/cases/{case.pk}" not in client_for(w.mod).get("/moderation?claimed=mine").content.decode()


def test_the_queue_pages_by_priority(world, client_for):
    w = world
    spammers = [make_account(f"spammer{i}") for i in range(3)]
    cases = [_reported(w.bob, s, f"Buy cheap watches number {i}") for i, s in enumerate(spammers)]
    for i, c in enumerate(cases):
        Case.objects.filter(pk=c.pk).update(priority=float(i + 1))
    from rostra.moderation import queries

    first = queries.queue(w.mod.user, limit=2)
    assert [r.case.pk for r in first.rows] == [cases[2].pk, cases[1].pk] and first.next_cursor
    html = client_for(w.mod).get(f"/moderation?after={first.next_cursor}").content.decode()
    assert f"/moderation/cases/{cases[0].pk}" in html and f"/moderation/cases/{cases[2].pk}" not in html


def test_opening_a_case_claims_it_and_shows_everything_about_it(world, client_for):
    w = world
    root = create_post(w.bob, Draft(text="Anyone up for the match on Saturday?"))
    post = create_post(w.alice, Draft(text=THREAT, in_reply_to_id=root.pk))
    case = Case.objects.get(post=post)
    actions.report(w.bob, post_id=post.pk, category="violence", comment="This is about me")
    earlier = create_post(w.alice, Draft(text="Watch the match with me"))
    actions.act_on_post(w.admin.user, earlier.pk, "label", reason="Spoilers", category="sexual")
    html = client_for(w.mod).get(f"/moderation/cases/{case.pk}").content.decode()
    case.refresh_from_db()
    assert case.claimed_by_id == w.mod.user.pk
    assert AuditEntry.objects.filter(verb="case.claimed", target_id=case.pk).count() == 1
    assert "You are working on this case" in html
    # the post, held, and its thread
    assert "I will kill you tomorrow" in html and "Held: only the author sees it" in html
    assert "Anyone up for the match on Saturday?" in html and "The thread (2 posts" in html
    # the screener's decision with its scores, rule, policy and model versions
    assert "What the screener and the policy decided" in html and "stage1-" in html and "v0" in html
    assert re.search(r"<th scope=\"row\">violence</th><td>[01]\.\d\d</td>", html)
    # the report, and the author's history with earlier actions
    assert "This is about me" in html and "@bob" in html
    assert f'href="/moderation/accounts/{w.alice.pk}"' in html and "Earlier actions" in html and "@ada" in html
    assert "Put the post behind a content warning" in html
    # reloading does not claim (and audit) again
    client_for(w.mod).get(f"/moderation/cases/{case.pk}")
    assert AuditEntry.objects.filter(verb="case.claimed", target_id=case.pk).count() == 1


def test_a_second_moderator_sees_the_claim_and_cannot_act(world, client_for):
    w = world
    mona = make_account("mona", role="moderator")
    post, case = _held(w.alice)
    client_for(w.mod).get(f"/moderation/cases/{case.pk}")
    other = client_for(mona)
    html = other.get(f"/moderation/cases/{case.pk}").content.decode()
    assert "@maya is working on this case" in html
    assert re.search(r'value="remove" data-key="r"[^>]* disabled', html)
    assert Case.objects.get(pk=case.pk).claimed_by_id == w.mod.user.pk  # unchanged by mona's visit
    response = other.post(f"/moderation/cases/{case.pk}/decide", {"kind": "remove", "reason": "mine now"})
    assert response.status_code == 302 and response["Location"] == f"/moderation/cases/{case.pk}"
    assert "@maya is working on this case until" in _flash(other.get(response["Location"]))
    response = other.post(f"/moderation/cases/{case.pk}/claim")
    assert "@maya is working on this case" in _flash(other.get(response["Location"]))
    post.refresh_from_db()
    assert post.moderation_state == ModerationState.HELD
    # once maya releases it, mona can take it
    client_for(w.mod).post(f"/moderation/cases/{case.pk}/release")
    assert "You are working on this case" in other.get(f"/moderation/cases/{case.pk}").content.decode()


def test_removing_tells_the_author_audits_and_goes_to_the_next_case(world, client_for, run_tasks):
    w = world
    post, case = _held(w.alice)
    _, next_case = _held(make_account("newcomer"), INCITEMENT)
    client = client_for(w.mod)
    client.get(f"/moderation/cases/{case.pk}")
    response = client.post(f"/moderation/cases/{case.pk}/decide", {"kind": "remove", "category": "violence", "reason": "A direct threat."})
    assert response.status_code == 302 and response["Location"] == f"/moderation/cases/{next_case.pk}"
    assert "Post removed. Here is the next case." in _flash(client.get(response["Location"]))
    post.refresh_from_db()
    case.refresh_from_db()
    assert post.moderation_state == ModerationState.REMOVED
    assert case.status == Case.Status.CLOSED and case.resolution == "remove" and case.closed_by_id == w.mod.user.pk
    action = ModAction.objects.get(post=post, kind="remove")
    assert action.reason == "A direct threat." and action.moderator_id == w.mod.user.pk
    assert Notice.objects.filter(action=action, account=w.alice).exists()
    verbs = set(AuditEntry.objects.filter(account_id=w.alice.pk).values_list("verb", flat=True))
    assert {"post.held", "case.claimed", "post.remove"} <= verbs
    # the last case: back to an empty queue
    client.get(f"/moderation/cases/{next_case.pk}")
    response = client.post(f"/moderation/cases/{next_case.pk}/decide", {"kind": "dismiss"})
    assert response["Location"] == "/moderation"
    assert "The queue is empty." in _flash(client.get("/moderation"))
    # the closed case still opens, read-only, with a way to change the decision on the post
    html = client.get(f"/moderation/cases/{case.pk}").content.decode()
    assert "Closed by @maya" in html and f'action="/moderation/posts/{post.pk}/act"' in html
    assert 'data-mod-actions' not in html


def test_a_refused_action_keeps_what_was_typed(world, client_for):
    w = world
    _, case = _held(w.alice)
    response = client_for(w.mod).post(f"/moderation/cases/{case.pk}/decide", {"kind": "suspend", "reason": "Repeated threats", "days": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Say for how many days" in html and ">Repeated threats</textarea>" in html
    assert Account.objects.get(pk=w.alice.pk).suspended_at is None
    response = client_for(w.mod).post(f"/moderation/cases/{case.pk}/decide", {"kind": "suspend", "reason": "x", "days": "soon"})
    assert response.status_code == 400 and "whole number of days" in response.content.decode()
    response = client_for(w.mod).post(f"/moderation/cases/{case.pk}/decide", {"kind": ""})
    assert response.status_code == 400 and "Choose an action" in response.content.decode()
    response = client_for(w.mod).post(f"/moderation/cases/{case.pk}/decide", {"kind": "suspend", "reason": "Repeated threats", "days": "7"})
    assert response.status_code == 302
    assert Account.objects.get(pk=w.alice.pk).suspended_until is not None


def test_bulk_dismiss_reports_done_and_skipped(world, client_for):
    w = world
    mona = make_account("mona", role="moderator")
    cases = [_reported(w.bob, w.carol, f"Our bake sale raised {i} pounds") for i in range(3)]
    actions.claim(mona.user, cases[2].pk)
    client = client_for(w.mod)
    response = client.post("/moderation/bulk?category=spam", {"case": [c.pk for c in cases], "kind": "dismiss", "reason": ""})
    assert response.status_code == 302 and response["Location"] == "/moderation?category=spam"
    assert "Case dismissed: 2 cases. Skipped 1" in _flash(client.get(response["Location"]))
    statuses = dict(Case.objects.filter(pk__in=[c.pk for c in cases]).values_list("pk", "status"))
    assert [statuses[c.pk] for c in cases] == ["closed", "closed", "open"]
    response = client.post("/moderation/bulk", {"case": [cases[2].pk], "kind": "suspend"})
    assert "Say for how many days" in _flash(client.get(response["Location"]))
    response = client.post("/moderation/bulk", {"kind": "dismiss"})
    assert "Select at least one case." in _flash(client.get(response["Location"]))


def test_acting_on_an_account_from_its_page(world, client_for):
    w = world
    client = client_for(w.mod)
    html = client.get(f"/moderation/accounts/{w.eve.pk}").content.decode()
    assert "Act on the account" in html and "No earlier actions" in html and 'value="lift"' in html
    response = client.post(f"/moderation/accounts/{w.eve.pk}/act", {"kind": "warn", "category": "harassment", "reason": "Be kind."})
    assert response.status_code == 302 and response["Location"] == f"/moderation/accounts/{w.eve.pk}"
    assert ModAction.objects.filter(account=w.eve, kind="warn", moderator=w.mod.user, reason="Be kind.").exists()
    html = client.get(response["Location"]).content.decode()
    assert "Account warned." in html and "Warned the account" in html and "Be kind." in html
    response = client.post(f"/moderation/accounts/{w.admin.pk}/act", {"kind": "ban", "reason": "no"})
    assert response.status_code == 403 and "An admin cannot be suspended" in response.content.decode()


def test_the_audit_log_lists_and_filters_and_cannot_be_changed(world, client_for):
    w = world
    _, case = _held(w.alice)
    actions.decide_case(w.mod.user, case.pk, "remove", reason="A threat.")
    actions.act_on_account(w.mod.user, w.bob.pk, "warn", reason="Calm down.")
    client = client_for(w.mod)
    html = client.get("/moderation/audit").content.decode()
    rows = _table(html)
    assert "post.held" in rows and "post.remove" in rows and "account.warn" in rows and "@maya" in rows and "system" in rows
    assert rows.index("account.warn") < rows.index("post.remove") < rows.index("post.held")  # newest first
    only_bob = _table(client.get(f"/moderation/audit?account={w.bob.pk}").content.decode())
    assert "account.warn" in only_bob and "post.remove" not in only_bob
    only_posts = _table(client.get("/moderation/audit?verb=post.").content.decode())
    assert "post.remove" in only_posts and "account.warn" not in only_posts
    assert "No entries" in client.get("/moderation/audit?account=nonsense").content.decode()
    # read-only: no form on the page writes anything
    assert 'method="post"' not in html[html.index("<main"):html.index("</main>")]


def test_the_audit_log_pages(world, client_for):
    w = world
    for i in range(45):
        actions.act_on_account(w.mod.user, w.bob.pk, "warn", reason=f"warning number {i}")
    html = client_for(w.mod).get("/moderation/audit").content.decode()
    assert "<td>warning number 44<" in html and "<td>warning number 5<" in html and "<td>warning number 4<" not in html
    more = re.search(r'href="(/moderation/audit\?max_id=\d+)"', html)
    assert more is not None
    older = client_for(w.mod).get(more.group(1)).content.decode()
    assert "<td>warning number 4<" in older and "<td>warning number 0<" in older and "<td>warning number 5<" not in older


def test_an_appeal_is_decided_by_another_moderator(world, client_for, run_tasks):
    w = world
    post, case = _held(w.alice)
    action = actions.decide_case(w.mod.user, case.pk, "remove", reason="Threat.").action
    assert action is not None
    appeal = actions.appeal(w.alice, action.pk, "I was quoting a film to a friend.")
    maya, ada = client_for(w.mod), client_for(w.admin)
    listing = maya.get("/moderation/appeals").content.decode()
    assert "@alice" in listing and "I was quoting a film" in listing and "you acted: another moderator decides" in listing
    html = maya.get(f"/moderation/appeals/{appeal.pk}").content.decode()
    assert "decided by a moderator other than the one who acted" in html and "you took this action" in html
    assert f'action="/moderation/appeals/{appeal.pk}/decide"' not in html
    assert f'action="/moderation/appeals/{appeal.pk}/message"' in html  # but she can talk
    response = maya.post(f"/moderation/appeals/{appeal.pk}/decide", {"outcome": "uphold", "reason": "I stand by it."})
    assert response.status_code == 403 and "other than the one who acted" in response.content.decode()
    assert Appeal.objects.get(pk=appeal.pk).status == Appeal.Status.OPEN
    # ada can: a reply, a refused decision without a reason, then a decision
    assert maya.post(f"/moderation/appeals/{appeal.pk}/message", {"body": "Which film?"}).status_code == 302
    html = ada.get(f"/moderation/appeals/{appeal.pk}").content.decode()
    assert f'action="/moderation/appeals/{appeal.pk}/decide"' in html and "Which film?" in html and "Moderator @maya" in html
    response = ada.post(f"/moderation/appeals/{appeal.pk}/decide", {"outcome": "reverse", "reason": ""})
    assert response.status_code == 400 and "Write the reason" in response.content.decode()
    response = ada.post(f"/moderation/appeals/{appeal.pk}/decide", {"outcome": "reverse", "reason": "A quotation between friends."})
    assert response.status_code == 302
    assert "the decision is reversed" in _flash(ada.get(response["Location"]))
    appeal.refresh_from_db()
    post.refresh_from_db()
    assert appeal.status == Appeal.Status.REVERSED and appeal.decided_by_id == w.admin.user.pk
    assert post.moderation_state == ModerationState.PUBLISHED
    assert "@alice" in ada.get("/moderation/appeals?tab=decided").content.decode()
    # decided: no more forms
    html = ada.get(f"/moderation/appeals/{appeal.pk}").content.decode()
    assert "Decided: reversed" in html and f"/moderation/appeals/{appeal.pk}/message" not in html


def test_jury_progress_shows_counts_not_votes_until_decided(world, client_for):
    w = world
    jurors = [make_account(f"juror{i}") for i in range(3)]
    Account.objects.filter(pk__in=[j.pk for j in jurors]).update(created_at=w.alice.created_at)
    _, case = _held(w.alice)
    action = actions.decide_case(w.mod.user, case.pk, "remove", reason="Threat.").action
    assert action is not None
    appeal = actions.appeal(w.alice, action.pk, "A joke between friends.")
    ada = client_for(w.admin)
    response = ada.post(f"/moderation/appeals/{appeal.pk}/jury", {"size": "4", "days": "2"})
    assert response.status_code == 400 and "odd number" in response.content.decode()
    response = ada.post(f"/moderation/appeals/{appeal.pk}/jury", {"size": "3", "days": "2"})
    assert response.status_code == 302
    seats = list(JurySeat.objects.filter(jury__appeal=appeal))
    first = Account.objects.get(pk=seats[0].account_id)
    actions.vote(first, seats[0].jury_id, "uphold", "Reads as a real threat to me.")
    html = ada.get(f"/moderation/appeals/{appeal.pk}").content.decode()
    assert "1 of 3" in html and "deadline" in html and "stays private" in html
    assert "Reads as a real threat" not in html and "uphold</strong>" not in html
    assert f'action="/moderation/appeals/{appeal.pk}/decide"' not in html  # the jury has it now
    actions.vote(Account.objects.get(pk=seats[1].account_id), seats[1].jury_id, "uphold", "Agreed, a threat.")  # a majority of 3
    html = ada.get(f"/moderation/appeals/{appeal.pk}").content.decode()
    assert "Reads as a real threat" in html and "Decided: upheld" in html


def test_keyboard_shortcuts_are_marked_up(world, client_for):
    w = world
    _, case = _held(w.alice)
    _, other = _held(make_account("newcomer"), INCITEMENT)
    html = client_for(w.mod).get(f"/moderation/cases/{case.pk}").content.decode()
    assert "/static/rostra/moderation.js" in html and "<script>" not in html  # no inline script (CSP)
    for key, kind in (("r", "remove"), ("l", "limit"), ("b", "label"), ("a", "restore"), ("d", "dismiss"), ("w", "warn"), ("h", "hold_account"), ("s", "suspend")):
        assert re.search(rf'name="kind" value="{kind}" data-key="{key}" aria-keyshortcuts="{key}"', html), kind
        assert f"<kbd>{key}</kbd>" in html
    assert re.search(r'value="suspend"[^>]*data-confirm="[^"]+"[^>]*data-needs="mod-days"', html)
    assert re.search(r'value="ban"[^>]*data-confirm=', html)
    assert 'data-focus-key="e"' in html
    assert re.search(rf'href="/moderation/cases/{other.pk}" data-key="[jk]"', html)  # next/previous
    # the first button in the form (what Enter in a field presses) does nothing
    form = html[html.index("data-mod-actions"):]
    assert form.index('value=""') < form.index('value="remove"')
    queue = client_for(w.mod).get("/moderation").content.decode()
    assert "data-mod-queue" in queue and "data-row" in queue and "data-select" in queue and "data-open" in queue
    assert (client_for(w.mod).get("/static/rostra/moderation.js").status_code) == 200


def test_the_queue_and_a_case_cost_the_same_queries_however_long(world, client_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    w = world
    client = client_for(w.mod)

    def cost(url: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    spammers = [make_account(f"spammer{i}") for i in range(6)]
    first = _reported(w.bob, spammers[0], "Cheap watches number 0")
    _reported(w.dave, spammers[0], "Cheap watches number 0 again")
    actions.claim(w.mod.user, first.pk)  # no claim is renewed (and audited) while measuring
    actions.act_on_account(w.admin.user, spammers[0].pk, "warn", reason="Stop.")
    small_queue, small_case = cost("/moderation"), cost(f"/moderation/cases/{first.pk}")
    for i, s in enumerate(spammers[1:], start=1):
        _reported(w.bob, s, f"Cheap watches number {i}")
        for n in range(3):  # more history for the case's author
            _reported(w.carol, spammers[0], f"More watches {i} {n}")
    for _ in range(3):
        actions.act_on_account(w.admin.user, spammers[0].pk, "warn", reason="Stop.")
    assert cost("/moderation") == small_queue
    assert cost(f"/moderation/cases/{first.pk}") == small_case


def test_moderators_see_the_images_of_posts_under_review_and_members_do_not(world, client_for, media_dir):
    from rostra.posts.actions import upload_media
    from rostra.testing.images import png_bytes

    media = upload_media(world.alice, png_bytes(), description="the flyer")
    post = create_post(world.alice, Draft(text="look at this", media_ids=[media.pk]))
    actions.act_on_post(world.mod.user, post.pk, "hold", reason="checking the image", category="violence")
    url = f"/media/{media.file}"
    assert client_for(world.mod).get(url).status_code == 404  # nobody asked the moderators to look
    case = actions.report(world.bob, post_id=post.pk, category="violence").case
    assert client_for(world.mod).get(url).status_code == 200
    assert client_for(world.alice).get(url).status_code == 200  # the author
    for someone in (world.bob, None):
        assert client_for(someone).get(url).status_code == 404
    assert case is not None
    page = client_for(world.mod).get(f"/moderation/cases/{case.pk}").content.decode()
    assert url in page and 'alt="the flyer"' in page
