"""The real Mastodon.py client against a real `rostra serve` on 127.0.0.1."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from mastodon import Mastodon
from mastodon.errors import MastodonIllegalArgumentError, MastodonUnauthorizedError

from tests.api.conftest import LiveServer

pytestmark = pytest.mark.live

PASSWORD = "a-long-live-password-42"
SCOPES = ["read", "write", "follow", "push"]


@pytest.fixture(scope="module")
def app(live_api: LiveServer) -> tuple[str, str]:
    live_api.rostra("users", "create", "liv", "--email", "liv@example.org", "--password", PASSWORD)
    live_api.rostra("users", "create", "ops", "--email", "ops@example.org", "--password", PASSWORD, "--admin")
    client_id, client_secret = Mastodon.create_app("rostra-tests", api_base_url=live_api, scopes=SCOPES, website="https://example.org")
    return client_id, client_secret


def test_password_log_in_and_verify_credentials(live_api, app):
    client_id, client_secret = app
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=live_api)
    token = api.log_in("liv", PASSWORD, scopes=SCOPES, allow_http=True)
    assert token
    me = api.account_verify_credentials()
    assert me.username == "liv" and me.acct == "liv"
    assert isinstance(me.id, str | int)
    assert me.source.privacy == "public"
    assert api.app_verify_credentials().name == "rostra-tests"
    # Mastodon.py read our Mastodon-compatible version and parsed it.
    assert api.retrieve_mastodon_version().startswith("4.3.0")
    assert (api.mastodon_major, api.mastodon_minor) == (4, 3)


def test_instance(live_api, app):
    api = Mastodon(api_base_url=live_api, version_check_mode="none")
    info = api.instance()
    assert "Rostra" in info.version and info.title == "Rostra"
    assert info.contact.account.username == "ops"
    assert api.instance_v1().stats.user_count == 2
    assert [r.text for r in api.instance_rules()]
    assert api.custom_emojis() == []
    assert api.instance_nodeinfo().software.name == "rostra"


def test_wrong_password_and_revoked_token(live_api, app):
    client_id, client_secret = app
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=live_api)
    with pytest.raises(MastodonIllegalArgumentError, match="invalid_grant"):
        api.log_in("liv", "not-the-password", scopes=SCOPES, allow_http=True)
    token = api.log_in("liv", PASSWORD, scopes=["read"], allow_http=True)
    api.revoke_access_token(allow_http=True)
    stale = Mastodon(access_token=token, api_base_url=live_api, version_check_mode="none")
    with pytest.raises(MastodonUnauthorizedError):
        stale.account_verify_credentials()


def test_scope_escalation_is_refused(live_api):
    client_id, client_secret = Mastodon.create_app("read-only", api_base_url=live_api, scopes=["read"])
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=live_api)
    with pytest.raises(MastodonIllegalArgumentError, match="invalid_scope"):
        api.log_in("liv", PASSWORD, scopes=["read", "write"], allow_http=True)


def test_authorization_code_flow(live_api, app):
    """auth_request_url, then the consent form in a plain HTTP session, then log_in(code=...)."""
    client_id, client_secret = app
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=live_api)
    url = api.auth_request_url(scopes=["read", "write"], state="xyz", allow_http=True)
    browser = requests.Session()
    # The consent page sends us to log in first; log in through the web form.
    page = browser.get(url)
    assert "/login" in page.url
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    next_url = parse_qs(urlsplit(page.url).query)["next"][0]
    page = browser.post(f"{live_api}/login", data={"csrfmiddlewaretoken": csrf, "username": "liv", "password": PASSWORD, "next": next_url},
                        headers={"Referer": page.url})
    assert "Authorize rostra-tests?" in page.text
    form = {k: html.unescape(v) for k, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text)}
    page = browser.post(f"{live_api}/oauth/authorize", data={**form, "decision": "approve"}, headers={"Referer": page.url})
    code = re.search(r'data-testid="oauth-code">([^<]+)<', page.text).group(1)
    api.log_in(code=code, scopes=["read", "write"], allow_http=True)
    assert api.account_verify_credentials().username == "liv"
