"""The transparency report: counts per UTC month, through the real actions (shipped default policy)."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rostra.core.clock import now
from rostra.moderation import actions, transparency
from rostra.moderation.models import Appeal, Case, Decision, ModAction, Report
from rostra.moderation.policy import default_document
from rostra.posts.actions import Draft, create_post
from rostra.posts.models import ModerationState

INCITEMENT = "Everyone grab your guns, we march on the capitol tomorrow and hang the traitors"
SEXUAL = "hot sexy nude pics in my bio"
BENIGN = "lovely weather for a walk in the park today"


def fresh_document() -> dict:
    return copy.deepcopy(default_document())  # the default is cached: never change it in place


def _this_month(data: dict) -> dict:
    return data["months"][-1]


def _month_key(when: datetime) -> str:
    return f"{when.year:04d}-{when.month:02d}"


def _previous_month(when: datetime) -> datetime:
    return (when.replace(day=1) - timedelta(days=1)).replace(day=15)


def test_an_empty_report_has_the_whole_schema(world):
    data = transparency.report()
    assert data["schema"] == "rostra.transparency/1"
    assert set(data) == {"schema", "generated_at", "period", "policy", "categories", "months", "totals"}
    assert len(data["months"]) == 12 and data["period"]["months"] == 12
    assert data["months"][-1]["month"] == _month_key(now())
    assert data["period"]["start"] == data["months"][0]["month"] + "-01"
    assert data["period"]["end"].startswith(data["months"][-1]["month"])
    months = [m["month"] for m in data["months"]]
    assert months == sorted(months) and len(set(months)) == 12
    assert data["policy"] == {"version": 0, "name": "Rostra default policy", "in_force_since": None}
    assert list(data["categories"])[:2] in (["violence", "sexual_minors"], ["sexual_minors", "violence"])  # gravest first
    assert "other" in data["categories"]
    month = data["months"][0]
    assert set(month) == {
        "month", "posts_screened", "decisions", "decisions_total", "actions", "actions_total", "reports", "reports_total",
        "appeals", "juries", "median_hours_to_action", "median_hours_to_decide_appeal",
    }
    assert month["appeals"] == {
        "received": 0, "pending": 0, "reversed": 0, "upheld": 0,
        "by_moderator": {"reversed": 0, "upheld": 0}, "by_jury": {"reversed": 0, "upheld": 0},
    }
    assert month["juries"] == {"convened": 0, "decided": 0, "lapsed": 0}
    assert data["totals"]["posts_screened"] == 0 and data["totals"]["median_hours_to_action"] is None
    json.dumps(data)  # JSON-ready as it is
    with pytest.raises(ValueError):
        transparency.report(0)


def test_the_report_counts_screening_actions_reports_and_appeals(world):
    w = world
    for _ in range(2):
        create_post(w.bob, Draft(text=BENIGN))
    held = create_post(w.alice, Draft(text=INCITEMENT))
    labelled = create_post(w.alice, Draft(text=SEXUAL))
    assert held.moderation_state == ModerationState.HELD and labelled.moderation_label
    # A moderator removes the held post three hours after its case opened.
    Case.objects.filter(post=held).update(created_at=now() - timedelta(hours=3))
    removal = actions.act_on_post(w.mod.user, held.pk, "remove", reason="Incitement.", category="violence")
    actions.report(w.bob, post_id=labelled.pk, category="spam", comment="an advert")
    # Two appeals: the removal is reversed (by the admin, not the moderator who acted), the automated label upheld.
    label_action = ModAction.objects.get(post=labelled, automated=True)
    reversed_appeal = actions.appeal(w.alice, removal.pk, "I was quoting a film.")
    upheld_appeal = actions.appeal(w.alice, label_action.pk, "It is art.")
    actions.decide_appeal(w.admin.user, reversed_appeal.pk, "reverse", "A quotation.")
    actions.decide_appeal(w.mod.user, upheld_appeal.pk, "uphold", "It is sexual content; the label stays.")
    Appeal.objects.filter(pk=reversed_appeal.pk).update(created_at=now() - timedelta(hours=10))
    Appeal.objects.filter(pk=upheld_appeal.pk).update(created_at=now() - timedelta(hours=20))
    assert ModAction.objects.get(pk=removal.pk).reversed_at is not None  # reversed actions still count as taken

    with CaptureQueriesContext(connection) as queries:
        data = transparency.report()
    assert len(queries) <= 15  # aggregate queries, not a query per row

    month = _this_month(data)
    assert month["posts_screened"] == 4
    assert month["decisions"] == {"violence": {"hold": 1}, "sexual": {"label": 1}}
    assert month["decisions_total"] == 2
    assert month["actions"]["automated"] == {"label": {"sexual": 1}}
    assert month["actions"]["human"] == {"remove": {"violence": 1}}
    assert month["actions_total"] == {"automated": 1, "human": 1}
    assert month["reports"] == {"spam": 1} and month["reports_total"] == 1
    assert month["appeals"] == {
        "received": 2, "pending": 0, "reversed": 1, "upheld": 1,
        "by_moderator": {"reversed": 1, "upheld": 1}, "by_jury": {"reversed": 0, "upheld": 0},
    }
    assert month["median_hours_to_action"] == pytest.approx(3.0, abs=0.05)
    assert month["median_hours_to_decide_appeal"] == pytest.approx(15.0, abs=0.05)
    totals = data["totals"]
    assert totals["posts_screened"] == 4 and totals["actions_total"] == {"automated": 1, "human": 1}
    assert totals["decisions"] == month["decisions"] and totals["appeals"] == month["appeals"]
    assert totals["median_hours_to_action"] == month["median_hours_to_action"]


def test_pending_appeals_and_automated_actions_have_no_time_to_action(world):
    w = world
    labelled = create_post(w.alice, Draft(text=SEXUAL))
    action = ModAction.objects.get(post=labelled)
    actions.appeal(w.alice, action.pk, "Not sexual.")
    month = _this_month(transparency.report())
    assert month["appeals"]["received"] == 1 and month["appeals"]["pending"] == 1
    assert month["appeals"]["reversed"] == month["appeals"]["upheld"] == 0
    assert month["median_hours_to_action"] is None and month["median_hours_to_decide_appeal"] is None


def test_each_post_counts_once_with_its_final_screening_decision(world):
    w = world
    held = create_post(w.alice, Draft(text=INCITEMENT))
    cleared = create_post(w.bob, Draft(text=INCITEMENT))
    first = Decision.objects.get(post=cleared)
    # Stage 2's later decisions, as deep_screen stores them (the stage-2 model is optional, so written here).
    later = first.created_at + timedelta(seconds=5)
    Decision.objects.create(post=cleared, account=w.bob, source="deep", action="publish", scores={}, created_at=later)
    Decision.objects.create(post=held, account=w.alice, source="deep", action="limit", category="violence", scores={}, created_at=later)
    month = _this_month(transparency.report())
    assert month["posts_screened"] == 2  # a deep screen is not a second post
    assert month["decisions"] == {"violence": {"limit": 1}}


def test_a_refused_draft_counts_as_a_decision(world):
    w = world
    doc = fresh_document()
    doc["categories"]["violence"] = {**doc["categories"]["violence"], "thresholds": [{"score": 0.8, "action": "refuse"}]}
    actions.save_policy(w.admin.user, doc, "Refuse the clearest threats.")
    with pytest.raises(Exception, match="violence"):
        create_post(w.alice, Draft(text=INCITEMENT))
    data = transparency.report()
    assert _this_month(data)["decisions"] == {"violence": {"refuse": 1}}
    assert data["policy"]["version"] == 1 and data["policy"]["in_force_since"]


def test_rows_land_in_their_utc_month_and_old_rows_fall_out(world):
    w = world
    post = create_post(w.alice, Draft(text=BENIGN))
    actions.report(w.bob, post_id=post.pk, category="harassment")
    actions.report(w.dave, post_id=post.pk, category="spam")
    last_month = _previous_month(now())
    Report.objects.filter(category="harassment").update(created_at=last_month)
    Report.objects.filter(category="spam").update(created_at=now() - timedelta(days=500))
    data = transparency.report()
    by_month = {m["month"]: m for m in data["months"]}
    assert by_month[_month_key(last_month)]["reports"] == {"harassment": 1}
    assert _this_month(data)["reports"] == {}
    assert data["totals"]["reports"] == {"harassment": 1}  # 500 days ago is outside the twelve months
    assert len(transparency.report(1)["months"]) == 1 and transparency.report(1)["totals"]["reports"] == {}
    # Midnight UTC on the first of a month belongs to that month.
    first = now().replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
    Report.objects.filter(category="harassment").update(created_at=first)
    assert _this_month(transparency.report())["reports"] == {"harassment": 1}


def test_the_report_names_nobody_and_quotes_nothing(world):
    w = world
    post = create_post(w.alice, Draft(text=INCITEMENT))
    action = actions.act_on_post(w.mod.user, post.pk, "remove", reason="Incitement, said Maya.", category="violence")
    actions.report(w.bob, account_id=w.eve.pk, category="harassment", comment="eve keeps replying to me")
    actions.appeal(w.alice, action.pk, "alice appeals: I was quoting")
    text = json.dumps(transparency.report())
    for name in ("alice", "bob", "eve", "maya", "ada"):
        assert not re.search(rf"\b{name}\b", text, re.I), name
    for secret in ("capitol", "Incitement, said", "keeps replying", "quoting", str(post.pk), str(action.pk), str(w.alice.pk)):
        assert secret not in text


def test_changes_between_policy_versions_read_as_sentences():
    before = fresh_document()
    after = json.loads(json.dumps(before))
    after["categories"]["hate"]["thresholds"][0]["score"] = 0.8
    after["categories"]["spam"]["guideline"] = "No adverts."
    after["new_account_days"] = 14
    after["rules"] = [{"id": "r1", "kind": "keyword", "pattern": "buy now", "category": "spam", "action": "hold"}]
    changes = transparency.changes(before, after)
    assert "hate: thresholds 0.9→hold, 0.7→limit → 0.8→hold, 0.7→limit." in changes
    assert "spam: the guideline changed." in changes
    assert "New accounts: 7 → 14 days." in changes
    assert "Rule r1 added." in changes
    assert transparency.changes(before, before) == []
    assert transparency.changes(after, before)[-1] == "Rule r1 removed."
