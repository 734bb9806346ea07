"""POST /api/v1/reports: Mastodon's categories and rule ids onto Rostra's policy categories."""

from __future__ import annotations

import json

from django.test import Client

from rostra.moderation.gate import active_policy
from rostra.moderation.models import AuditEntry, Case, Report
from rostra.posts.models import Visibility
from rostra.testing.world import make_post
from tests.api.conftest import bearer


def rule_number(name):
    return str([c.name for c in active_policy()[1].guidelines()].index(name) + 1)


def test_report_statuses_with_a_rule(world, password_token):
    p1 = make_post(world.alice, "first")
    p2 = make_post(world.alice, "second")
    c = bearer(password_token(world.bob, scope="write:reports"))
    r = c.post("/api/v1/reports", {"account_id": str(world.alice.pk), "status_ids[]": [str(p1.pk), str(p2.pk)],
                                   "comment": "not nice", "rule_ids[]": [rule_number("harassment")], "forward": "true"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["category"] == "violation" and body["rule_ids"] == [rule_number("harassment")]
    assert body["status_ids"] == [str(p1.pk), str(p2.pk)] and body["comment"] == "not nice"
    assert body["action_taken"] is False and body["forwarded"] is False and body["target_account"]["acct"] == "alice"
    rep = Report.objects.get(pk=int(body["id"]))
    assert rep.category == "harassment" and rep.post_id == p1.pk and rep.evidence_post_ids == [p2.pk] and rep.reporter_id == world.bob.pk
    assert Case.objects.filter(pk=rep.case_id, status="open").exists()
    assert AuditEntry.objects.filter(verb="report.created", account_id=world.alice.pk).exists()


def test_report_an_account_json_spam_and_other(world, password_token):
    c = bearer(password_token(world.bob, scope="write"))
    r = c.post("/api/v1/reports", json.dumps({"account_id": str(world.dave.pk), "category": "spam"}), content_type="application/json")
    assert r.status_code == 200 and r.json()["category"] == "spam" and r.json()["status_ids"] == []
    assert Report.objects.get(pk=int(r.json()["id"])).category == "spam"
    r = c.post("/api/v1/reports", {"account_id": str(world.carol.pk), "category": "legal"})
    assert r.json()["category"] == "other" and Report.objects.get(pk=int(r.json()["id"])).category == "other"


def test_bad_reports_write_nothing(world, password_token):
    p = make_post(world.alice, "hi")
    other = make_post(world.dave, "dave's")
    private = make_post(world.carol, "followers", visibility=Visibility.PRIVATE)
    c = bearer(password_token(world.dave, scope="write"))
    cases = [
        ({}, 422),
        ({"account_id": "x"}, 422),
        ({"account_id": "123456"}, 404),
        ({"account_id": str(world.alice.pk), "category": "rude"}, 422),
        ({"account_id": str(world.alice.pk), "rule_ids[]": "999"}, 422),
        ({"account_id": str(world.alice.pk), "status_ids[]": [str(p.pk), str(other.pk)]}, 422),
        ({"account_id": str(world.carol.pk), "status_ids[]": str(private.pk)}, 404),  # dave cannot see it
        ({"account_id": str(world.dave.pk)}, 422),  # yourself
        ({"account_id": str(world.alice.pk), "comment": "x" * 1001}, 422),
    ]
    for data, status in cases:
        r = c.post("/api/v1/reports", data)
        assert r.status_code == status, (data, r.content)
        assert "error" in r.json()
    assert Report.objects.count() == 0 and Case.objects.count() == 0


def test_scopes_and_auth(world, password_token):
    data = {"account_id": str(world.alice.pk)}
    assert bearer(password_token(world.bob, scope="read")).post("/api/v1/reports", data).status_code == 403
    assert Client().post("/api/v1/reports", data).status_code == 401
    assert Report.objects.count() == 0
