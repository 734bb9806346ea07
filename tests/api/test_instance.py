"""Instance endpoints, nodeinfo and the OpenAPI document: Mastodon's shapes from real settings."""

from __future__ import annotations

import dataclasses
import re

import pytest
from django.test import Client

from rostra.moderation.gate import active_policy

VERSION_RE = re.compile(r"^4\.3\.0 \(compatible; Rostra \d+\.\d+\.\d+\)$")


@pytest.mark.parametrize("path", ["/api/v1/instance", "/api/v1/instance/"])
def test_instance_v1(world, settings, path):
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, instance_name="Agora", max_post_chars=777, registrations="closed")
    r = Client().get(path)
    assert r.status_code == 200
    body = r.json()
    assert body["title"] == "Agora" and VERSION_RE.match(body["version"])
    assert body["uri"] == settings.ROSTRA.domain
    assert body["registrations"] is False
    assert body["configuration"]["statuses"]["max_characters"] == 777
    assert body["configuration"]["media_attachments"]["image_size_limit"] == settings.ROSTRA.media_max_bytes
    assert body["stats"]["user_count"] == 7
    assert body["contact_account"]["username"] == world.admin.username
    assert body["urls"]["streaming_api"].startswith("ws://")


@pytest.mark.parametrize("path", ["/api/v2/instance", "/api/v2/instance/"])
def test_instance_v2(world, path):
    body = Client().get(path).json()
    assert VERSION_RE.match(body["version"])
    assert body["api_versions"] == {"mastodon": 2}
    assert body["registrations"]["enabled"] is True and body["registrations"]["url"].endswith("/signup")
    assert body["contact"]["account"]["id"] == str(world.admin.pk)
    assert body["configuration"]["statuses"]["max_media_attachments"] == 4
    assert body["configuration"]["urls"]["streaming"].startswith("ws://")
    assert body["usage"]["users"]["active_month"] >= 0


def test_rules_come_from_the_policy(db):
    _version, policy = active_policy()
    categories = policy.guidelines()
    rules = Client().get("/api/v1/instance/rules").json()
    assert [r["text"] for r in rules] == [c.title for c in categories]
    assert [r["hint"] for r in rules] == [c.guideline for c in categories]
    assert [r["id"] for r in rules] == [str(i) for i in range(1, len(categories) + 1)]
    assert Client().get("/api/v2/instance").json()["rules"] == rules


def test_custom_emojis_are_an_empty_list(db):
    r = Client().get("/api/v1/custom_emojis")
    assert r.status_code == 200 and r.json() == []


def test_nodeinfo(world):
    links = Client().get("/.well-known/nodeinfo").json()["links"]
    assert links[0]["rel"] == "http://nodeinfo.diaspora.software/ns/schema/2.0"
    doc = Client().get("/nodeinfo/2.0").json()
    assert doc["software"]["name"] == "rostra" and doc["version"] == "2.0"
    assert doc["usage"]["users"]["total"] == 7
    assert doc["openRegistrations"] is True


def test_unknown_api_paths_answer_json_404(db):
    r = Client().get("/api/v1/no/such/thing")
    assert r.status_code == 404 and r.json() == {"error": "Record not found"}


def test_openapi_document_describes_every_operation(db):
    doc = Client().get("/api/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for path in ("/api/v1/instance", "/api/v2/instance", "/api/v1/instance/rules", "/api/v1/custom_emojis", "/api/v1/apps",
                 "/api/v1/apps/verify_credentials", "/api/v1/accounts/verify_credentials"):
        assert path in paths, path
    assert "requestBody" in paths["/api/v1/apps"]["post"]
    assert paths["/api/v1/accounts/verify_credentials"]["get"]["security"]


def test_every_routed_api_operation_is_in_the_openapi_document_with_a_summary_and_a_response(db):
    """Walk ninja's routers: each operation is described (unless it is a trailing-slash alias
    hidden on purpose), has a summary, and documents its response's schema."""
    from rostra.api.api import api

    doc = Client().get("/api/openapi.json").json()
    described = {(p, m) for p, ops in doc["paths"].items() for m in ops}
    missing, unsummarised, untyped = [], [], []
    for prefix, router in api._routers:
        for route, path_view in router.path_operations.items():
            for op in path_view.operations:
                if not op.include_in_schema:
                    continue
                path = "/api" + (prefix + route if prefix else route)
                path = path.replace("//", "/")
                for method in op.methods:
                    key = (_openapi_path(path), method.lower())
                    if key not in described:
                        missing.append(key)
                        continue
                    entry = doc["paths"][key[0]][key[1]]
                    if not entry.get("summary"):
                        unsummarised.append(key)
                    responses = entry.get("responses", {})
                    if not any("content" in r or c == "204" for c, r in responses.items()):
                        untyped.append(key)
    assert not missing, missing
    assert not unsummarised, unsummarised
    assert not untyped, untyped


def _openapi_path(path: str) -> str:
    import re

    return re.sub(r"\{(?:\w+:)?(\w+)\}", r"{\1}", path)
