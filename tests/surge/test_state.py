"""Surge mode's switch: off / on / auto, audited, cached, from the CLI and the admin page."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from rostra.accounts import surge, surge_cli
from rostra.accounts.models import SurgeState, User
from rostra.config.cli import build_parser
from rostra.core.clock import now
from rostra.core.errors import PermissionDenied, ValidationError
from rostra.moderation.models import AuditEntry

pytestmark = [pytest.mark.django_db]


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    args = build_parser().parse_args(["surge", *argv])
    code = surge_cli.run(args, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_off_by_default_and_switched_on_and_off_with_an_audit_entry(world) -> None:
    assert not surge.is_active() and surge.status().mode == "off"
    st = surge.set_mode(world.admin.user, "on", reason="featured in the news")
    assert st.active and surge.is_active()
    entry = AuditEntry.objects.filter(verb="surge.mode").latest("id")
    assert (entry.actor_name, entry.reason, entry.detail["from"], entry.detail["to"]) == (
        "@ada",
        "featured in the news",
        "off",
        "on",
    )
    surge.set_mode(world.admin.user, "off")
    assert not surge.is_active()
    assert AuditEntry.objects.filter(verb="surge.mode").count() == 2


def test_only_admins_switch_and_a_bad_mode_is_refused_without_writing(world) -> None:
    with pytest.raises(PermissionDenied):
        surge.set_mode(world.mod.user, "on")
    with pytest.raises(ValidationError, match="one of off, on, auto"):
        surge.set_mode(world.admin.user, "panic")
    assert not surge.is_active() and not AuditEntry.objects.filter(verb="surge.mode").exists()
    with pytest.raises(ValidationError, match="at most 500"):
        surge.set_message(world.admin.user, "x" * 501)
    assert surge.status().custom_message == ""


def test_the_state_is_memoised_and_a_switch_is_seen_at_once(world, django_assert_num_queries) -> None:
    surge.set_mode(None, "on")
    assert surge.is_active()
    with django_assert_num_queries(0):
        for _ in range(50):
            assert surge.is_active()
    surge.set_mode(None, "off")
    assert not surge.is_active()


def _signups(count: int, minutes_ago: float) -> None:
    at = now() - timedelta(minutes=minutes_ago)
    ids = []
    for i in range(count):
        u = User(username=f"wave{minutes_ago:g}_{i}".replace(".", "_"), email=f"w{minutes_ago:g}_{i}@example.org")
        u.set_unusable_password()
        u.save()
        ids.append(u.pk)
    User.objects.filter(pk__in=ids).update(created_at=at)


def test_auto_turns_on_above_the_threshold_and_off_after_30_minutes_below(world, settings) -> None:
    import dataclasses

    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, surge_signups_per_min=2)  # 20 in 10 minutes
    surge.set_mode(None, "auto")
    assert surge.status().mode == "auto" and not surge.is_active()
    _signups(21, minutes_ago=1)
    assert surge.evaluate_auto().active and surge.is_active()
    assert AuditEntry.objects.filter(verb="surge.auto_on").count() == 1
    later = now() + timedelta(minutes=11)  # the wave has left the 10-minute window
    assert surge.evaluate_auto(later).active  # below, but not yet for 30 minutes
    assert surge.evaluate_auto(later + timedelta(minutes=29)).active
    assert not surge.evaluate_auto(later + timedelta(minutes=30)).active
    assert not surge.is_active() and surge.status().mode == "auto"
    assert AuditEntry.objects.filter(verb="surge.auto_off").count() == 1


def test_auto_stays_on_when_the_rate_rises_again_within_the_cool_down(world, settings) -> None:
    import dataclasses

    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, surge_signups_per_min=1)
    surge.set_mode(None, "auto")
    _signups(11, minutes_ago=1)
    assert surge.evaluate_auto().active
    assert surge.evaluate_auto(now() + timedelta(minutes=20)).active  # below since then
    _signups(11, minutes_ago=-20)  # another wave (dated 20 minutes from now)
    assert surge.evaluate_auto(now() + timedelta(minutes=21)).active
    assert SurgeState.objects.get().below_since is None
    assert surge.evaluate_auto(now() + timedelta(minutes=45)).active  # below again only since minute 31


def test_auto_off_when_switched_away(world) -> None:
    surge.set_mode(None, "auto")
    SurgeState.objects.filter(pk=1).update(auto_active=True)
    surge.forget_cached()
    assert surge.is_active()
    surge.set_mode(None, "off")
    assert not surge.is_active() and not SurgeState.objects.get().auto_active


def test_cli_switches_reports_admits_and_refuses_bad_input(world) -> None:
    code, out, _ = _run("on", "--reason", "launch day")
    assert code == 0 and "sign-ups are queued" in out and surge.is_active()
    assert AuditEntry.objects.filter(verb="surge.mode", actor_name="system", reason="launch day").exists()
    code, out, _ = _run("status")
    assert code == 0 and '"mode": "on"' in out and '"waiting": 0' in out
    surge.join_waitlist("a@example.net")
    code, out, _ = _run("admit", "5")
    assert code == 0 and "admitted 1" in out
    code, _, err = _run("admit", "many")
    assert code == 1 and "whole number" in err
    code, _, err = _run("admit", "0")
    assert code == 1 and "from 1 to" in err
    code, out, _ = _run("invite", "--uses", "3", "--days", "2")
    assert code == 0 and "/signup?invite=" in out
    code, _, err = _run("message", "x" * 600)
    assert code == 1 and "at most 500" in err
    code, out, _ = _run("message", "Busy day: sign-ups are queued.")
    assert code == 0 and surge.status().message == "Busy day: sign-ups are queued."
    code, _, _ = _run("off")
    assert code == 0 and not surge.is_active()


def test_admin_page_switches_and_words_the_banner_moderators_only_see_it(world, client_for) -> None:
    anon = client_for(None)
    assert anon.get("/admin/surge").status_code == 404
    assert client_for(world.alice).get("/admin/surge").status_code == 404
    mod = client_for(world.mod)
    page = mod.get("/admin/surge")
    assert page.status_code == 200 and b"Invite links" in page.content and b'name="mode"' not in page.content
    assert mod.post("/admin/surge", {"action": "mode", "mode": "on"}).status_code == 403
    assert not surge.is_active()
    admin = client_for(world.admin)
    r = admin.post("/admin/surge", {"action": "mode", "mode": "on", "reason": "wave"})
    assert r.status_code == 302 and surge.is_active()
    r = admin.post("/admin/surge", {"action": "mode", "mode": "sideways"})
    assert r.status_code == 400 and b"one of off, on, auto" in r.content
    r = admin.post("/admin/surge", {"action": "message", "message": "Hold tight: we are growing."})
    assert r.status_code == 302
    assert b"Hold tight: we are growing." in client_for(world.bob).get("/home").content  # the banner, everywhere
    assert b"Hold tight: we are growing." in anon.get("/about").content
    r = admin.post("/admin/surge", {"action": "admit", "count": "ten"})
    assert r.status_code == 400
    admin.post("/admin/surge", {"action": "mode", "mode": "off"})
    assert b"Hold tight" not in anon.get("/about").content


def test_instance_documents_tell_clients(world) -> None:
    from django.test import Client

    surge.set_mode(None, "on")
    v2 = Client().get("/api/v2/instance").json()
    assert v2["registrations"]["approval_required"] is True
    assert "waitlist" in v2["registrations"]["message"] and "waitlist" in v2["description"]
    v1 = Client().get("/api/v1/instance").json()
    assert v1["approval_required"] is True and "waitlist" in v1["description"]
    surge.set_mode(None, "off")
    v2 = Client().get("/api/v2/instance").json()
    assert v2["registrations"]["approval_required"] is False and v2["registrations"]["message"] is None
