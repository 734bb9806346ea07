"""The admin (moderation) API: Admin::Report and Admin::Account over Rostra's reports, cases and actions."""

from __future__ import annotations

import pytest
from django.test import Client

from rostra.moderation import actions as moderation
from rostra.moderation.models import AuditEntry, Case, ModAction, Notice, Report
from rostra.testing.world import make_post
from tests.api.conftest import bearer

ADMIN_SCOPES = "read write admin:read admin:write"


@pytest.fixture
def admin_token(register, password_token):
    def make(account, scope=ADMIN_SCOPES):
        return password_token(account, scope=scope, app=register(scopes=ADMIN_SCOPES))

    return make


@pytest.fixture
def reported(world):
    post = make_post(world.alice, "rude words")
    evidence = make_post(world.alice, "more rude words")
    return moderation.report(world.bob, post_id=post.pk, category="harassment", comment="please look", evidence_post_ids=[evidence.pk])


def test_list_and_get_reports(world, admin_token, reported):
    c = bearer(admin_token(world.mod))
    r = c.get("/api/v1/admin/reports")
    assert r.status_code == 200, r.content
    [rep] = r.json()
    assert rep["id"] == str(reported.pk) and rep["action_taken"] is False and rep["category"] == "violation"
    assert rep["comment"] == "please look" and rep["account"]["username"] == "bob" and rep["target_account"]["username"] == "alice"
    assert rep["target_account"]["account"]["acct"] == "alice" and rep["target_account"]["email"] == "alice@example.org"
    assert [s["id"] for s in rep["statuses"]] == [str(reported.post_id), str(reported.evidence_post_ids[0])]
    assert rep["rules"][0]["text"] and rep["assigned_account"] is None and rep["action_taken_by_account"] is None
    assert c.get(f"/api/v1/admin/reports/{reported.pk}").json() == rep
    assert rep["forwarded"] is False  # a local account's report is never forwarded
    reported.forwarded = True  # (as the reports API stores it when forward=true names a remote account)
    reported.save(update_fields=["forwarded"])
    assert c.get(f"/api/v1/admin/reports/{reported.pk}").json()["forwarded"] is True
    assert c.get("/api/v1/admin/reports", {"resolved": "true"}).json() == []
    assert len(c.get("/api/v1/admin/reports", {"target_account_id": str(world.alice.pk)}).json()) == 1
    assert c.get("/api/v1/admin/reports", {"account_id": str(world.dave.pk)}).json() == []
    assert c.get("/api/v1/admin/reports/999999").status_code == 404


def test_moderators_see_held_evidence(world, admin_token, reported):
    moderation.act_on_post(world.admin.user, reported.post_id, "hold")
    rep = bearer(admin_token(world.mod)).get(f"/api/v1/admin/reports/{reported.pk}").json()
    assert str(reported.post_id) in [s["id"] for s in rep["statuses"]]


def test_assign_unassign_resolve(world, admin_token, reported):
    c = bearer(admin_token(world.mod))
    rep = c.post(f"/api/v1/admin/reports/{reported.pk}/assign_to_self").json()
    assert rep["assigned_account"]["username"] == "maya"
    # Another moderator cannot resolve a case maya is working on.
    other = bearer(admin_token(world.admin))
    r = other.post(f"/api/v1/admin/reports/{reported.pk}/resolve")
    assert r.status_code == 422 and "maya" in r.json()["error"]
    assert c.post(f"/api/v1/admin/reports/{reported.pk}/unassign").json()["assigned_account"] is None
    rep = other.post(f"/api/v1/admin/reports/{reported.pk}/resolve").json()
    assert rep["action_taken"] is True and rep["action_taken_at"] and rep["action_taken_by_account"]["username"] == "ada"
    assert Report.objects.get(pk=reported.pk).status == Report.Status.DISMISSED
    assert AuditEntry.objects.filter(verb="case.dismissed").exists()
    assert other.post(f"/api/v1/admin/reports/{reported.pk}/resolve").status_code == 200  # already resolved: fine
    assert other.post(f"/api/v1/admin/reports/{reported.pk}/reopen").status_code == 422
    assert len(c.get("/api/v1/admin/reports", {"resolved": "1"}).json()) == 1


def test_members_and_scopes_are_refused(world, admin_token, password_token, reported):
    member = bearer(admin_token(world.bob))
    for path in ("/api/v1/admin/reports", f"/api/v1/admin/reports/{reported.pk}", "/api/v1/admin/accounts", "/api/v2/admin/accounts"):
        r = member.get(path)
        assert r.status_code == 403 and r.json() == {"error": "This action is not allowed"}, path
    assert member.post(f"/api/v1/admin/accounts/{world.alice.pk}/action", {"type": "suspend"}).status_code == 403
    # A moderator's token without the admin scopes.
    plain = bearer(password_token(world.mod, scope="read write"))
    assert plain.get("/api/v1/admin/reports").status_code == 403
    reports_only = bearer(admin_token(world.mod, scope="admin:read:reports"))
    assert reports_only.get("/api/v1/admin/reports").status_code == 200
    assert reports_only.get("/api/v1/admin/accounts").status_code == 403
    assert reports_only.post(f"/api/v1/admin/reports/{reported.pk}/resolve").status_code == 403
    assert Client().get("/api/v1/admin/reports").status_code == 401
    assert Report.objects.get(pk=reported.pk).status == Report.Status.OPEN


def test_accounts_list_filters_and_pagination(world, admin_token):
    moderation.act_on_account(world.mod.user, world.eve.pk, "ban", category="spam")
    c = bearer(admin_token(world.mod))
    everyone = c.get("/api/v1/admin/accounts").json()
    assert {a["username"] for a in everyone} == {"alice", "bob", "carol", "dave", "eve", "maya", "ada"}
    assert [a["username"] for a in c.get("/api/v1/admin/accounts", {"suspended": "true"}).json()] == ["eve"]
    assert [a["username"] for a in c.get("/api/v2/admin/accounts", {"status": "suspended"}).json()] == ["eve"]
    assert {a["username"] for a in c.get("/api/v2/admin/accounts", {"permissions": "staff"}).json()} == {"maya", "ada"}
    assert [a["username"] for a in c.get("/api/v2/admin/accounts", {"username": "ali"}).json()] == ["alice"]
    assert c.get("/api/v2/admin/accounts", {"origin": "remote"}).json() == []
    assert c.get("/api/v2/admin/accounts", {"status": "weird"}).status_code == 422
    page = c.get("/api/v2/admin/accounts", {"limit": 3})
    assert len(page.json()) == 3 and 'rel="next"' in page["Link"]
    eve = c.get(f"/api/v1/admin/accounts/{world.eve.pk}").json()
    assert eve["suspended"] is True and eve["silenced"] is False and eve["domain"] is None and eve["role"]["name"] == ""
    assert c.get("/api/v1/admin/accounts/424242").status_code == 404


def test_warn_silence_suspend_make_notices_and_audit(world, admin_token):
    c = bearer(admin_token(world.mod))
    r = c.post(f"/api/v1/admin/accounts/{world.dave.pk}/action", {"type": "none", "text": "Be kind.", "category": "harassment"})
    assert r.status_code == 200 and r.json() == {}
    warn = ModAction.objects.get(account=world.dave, kind="warn")
    assert warn.reason == "Be kind." and warn.moderator_id == world.mod.user.pk and warn.category == "harassment"
    assert Notice.objects.filter(action=warn).exists() and warn.rule
    assert AuditEntry.objects.filter(verb="account.warn", account_id=world.dave.pk).exists()

    assert c.post(f"/api/v1/admin/accounts/{world.dave.pk}/action", {"type": "silence"}).status_code == 200
    assert c.get(f"/api/v1/admin/accounts/{world.dave.pk}").json()["silenced"] is True
    assert Notice.objects.filter(action__kind="hold_account", account=world.dave).exists()
    body = c.post(f"/api/v1/admin/accounts/{world.dave.pk}/unsilence").json()
    assert body["silenced"] is False

    assert c.post(f"/api/v1/admin/accounts/{world.dave.pk}/action", {"type": "suspend", "days": "7"}).status_code == 200
    dave = c.get(f"/api/v1/admin/accounts/{world.dave.pk}").json()
    assert dave["suspended"] is True
    assert ModAction.objects.get(account=world.dave, kind="suspend").ends_at is not None
    assert c.post(f"/api/v1/admin/accounts/{world.dave.pk}/unsuspend").json()["suspended"] is False
    assert c.post(f"/api/v1/admin/accounts/{world.dave.pk}/unsuspend").status_code == 403  # not suspended now
    assert AuditEntry.objects.filter(verb="account.lift", account_id=world.dave.pk).count() == 2
    assert c.post(f"/api/v1/admin/accounts/{world.dave.pk}/unsensitive").status_code == 200


def test_action_with_report_decides_its_case(world, admin_token, reported):
    c = bearer(admin_token(world.mod))
    r = c.post(f"/api/v1/admin/accounts/{world.alice.pk}/action", {"type": "suspend", "report_id": str(reported.pk), "text": "Repeated harassment."})
    assert r.status_code == 200, r.content
    rep = Report.objects.get(pk=reported.pk)
    assert rep.status == Report.Status.ACTIONED and Case.objects.get(pk=rep.case_id).status == Case.Status.CLOSED
    action = ModAction.objects.get(account=world.alice, kind="ban")
    assert action.category == "harassment" and {e["post_id"] for e in action.evidence} >= {reported.post_id}
    assert Notice.objects.filter(action=action, account=world.alice).exists()
    world.alice.refresh_from_db()
    assert world.alice.suspended_at is not None and world.alice.suspended_until is None


def test_bad_actions_write_nothing(world, admin_token, reported):
    c = bearer(admin_token(world.mod))
    before = (ModAction.objects.count(), AuditEntry.objects.count())
    for data, status in [
        ({"type": "explode"}, 422),
        ({"type": "disable"}, 422),
        ({"type": "sensitive"}, 422),
        ({"type": "suspend", "days": "forever"}, 422),
        ({"type": "suspend", "days": "0"}, 422),
        ({"type": "none", "category": "rudeness"}, 422),
        ({"type": "none", "report_id": str(reported.pk)}, 422),  # the report is about alice, not dave
        ({"type": "none", "report_id": "987654"}, 404),
    ]:
        r = c.post(f"/api/v1/admin/accounts/{world.dave.pk}/action", data)
        assert r.status_code == status, (data, r.content)
    assert c.post(f"/api/v1/admin/accounts/{world.admin.pk}/action", {"type": "suspend"}).status_code == 403  # admins are not suspended
    assert c.post("/api/v1/admin/accounts/123123/action", {"type": "none"}).status_code == 404
    assert (ModAction.objects.count(), AuditEntry.objects.count()) == before



def test_reports_pagination(world, admin_token):
    made = sorted((moderation.report(who, account_id=world.dave.pk, category="spam") for who in (world.alice, world.bob, world.carol)), key=lambda r: r.pk)
    c = bearer(admin_token(world.mod))
    first = c.get("/api/v1/admin/reports", {"limit": 2})
    assert [r["id"] for r in first.json()] == [str(made[2].pk), str(made[1].pk)] and 'rel="next"' in first["Link"]
    nxt = first["Link"].split(";")[0].strip("<>")
    assert [r["id"] for r in c.get(nxt).json()] == [str(made[0].pk)]
