"""Search, trends, filters, reports and the admin API through the real Mastodon.py client,
against a real `rostra serve` on 127.0.0.1."""

from __future__ import annotations

import pytest
from mastodon import Mastodon

from tests.api.conftest import LiveServer

pytestmark = [pytest.mark.live, pytest.mark.own_sqlite]

PASSWORD = "a-long-live-password-42"
SCOPES = ["read", "write", "follow"]
ADMIN_SCOPES = ["read", "write", "follow", "admin:read", "admin:write"]


def _client(live: LiveServer, username: str, scopes: list[str]) -> Mastodon:
    client_id, client_secret = Mastodon.create_app(f"d-{username}", api_base_url=live, scopes=scopes)
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=live)
    api.log_in(username, PASSWORD, scopes=scopes, allow_http=True)
    return api


def test_search_trends_filters_reports_and_admin(live_api: LiveServer) -> None:
    live_api.rostra("users", "create", "rin", "--email", "rin@example.org", "--password", PASSWORD)
    live_api.rostra("users", "create", "tam", "--email", "tam@example.org", "--password", PASSWORD)
    live_api.rostra("users", "create", "boss", "--email", "boss@example.org", "--password", PASSWORD, "--admin")
    rin = _client(live_api, "rin", SCOPES)
    tam = _client(live_api, "tam", SCOPES)
    boss = _client(live_api, "boss", ADMIN_SCOPES)

    post = rin.status_post("Lighthouses along the coast are lovely #lighthouse", visibility="public")
    tam.status_favourite(post)
    tam.status_post("My favourite #lighthouse is the red one", visibility="public")

    found = tam.search_v2("lighthouses")
    assert [s.id for s in found.statuses] == [post.id]
    assert "lighthouse" in [h.name for h in tam.search_v2("lighthouse", result_type="hashtags").hashtags]
    assert [a.acct for a in tam.search_v2("rin", result_type="accounts").accounts] == ["rin"]
    assert [s.id for s in tam.search_v2(post.url).statuses] == [post.id]  # a pasted URL resolves

    tags = tam.trending_tags()
    assert tags[0].name == "lighthouse" and tags[0].history[0].accounts == "2"
    assert post.id in [s.id for s in tam.trending_statuses()]

    flt = tam.create_filter_v2("Coast", ["home", "public"], "warn", keywords_attributes=[{"keyword": "coast", "whole_word": True}])
    assert [k.keyword for k in flt.keywords] == ["coast"]
    flt = tam.update_filter_v2(flt, title="Seaside", keywords_attributes=[{"keyword": "beach"}])
    assert flt.title == "Seaside" and sorted(k.keyword for k in flt.keywords) == ["beach", "coast"]
    assert [f.phrase for f in tam.filters()] != []
    tam.delete_filter_v2(flt)
    assert tam.filters_v2() == []

    report = tam.report(rin.me().id, status_ids=[post.id], comment="testing the report flow", category="spam")
    assert report.category == "spam" and str(report.target_account.id) == str(rin.me().id)

    reports = boss.admin_reports()
    assert [str(r.id) for r in reports] == [str(report.id)]
    assert boss.admin_report_assign(reports[0]).assigned_account.username == "boss"
    boss.admin_account_moderate(rin.me().id, action="silence", report_id=reports[0].id, text="Please slow down.")
    resolved = boss.admin_report(reports[0].id)
    assert resolved.action_taken is True
    silenced = boss.admin_accounts_v2(status="silenced")
    assert [a.username for a in silenced] == ["rin"]
