"""The instance policy's surfaces: ``rostra domains`` (CLI), the admin API (Mastodon's
``/api/v1/admin/domain_blocks`` and ``domain_allows``), the public list (API and web) and the
admin web pages. Each write goes through the policy's actions, so each is audited."""

from __future__ import annotations

import pytest
from django.test import Client

from rostra.config.cli import main
from rostra.federation import policy
from rostra.federation.models import DomainAllow, DomainBlock
from rostra.moderation.models import AuditEntry
from tests.api.conftest import bearer, password_grant, register_app

pytestmark = pytest.mark.django_db
ADMIN_SCOPES = "read write admin:read admin:write"


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["domains", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


# --- CLI --------------------------------------------------------------------------------------------


def test_cli_block_list_unblock(world, capsys) -> None:
    assert cli(capsys, "list") == (0, "No domain blocks.\nFederation mode: open\n", "")
    code, out, err = cli(
        capsys, "block", " Spam.Example. ", "--severity", "suspend", "--reject-media", "--public-comment", "Spam"
    )
    assert (code, out, err) == (0, "Blocked spam.example (suspend).\n", "")
    code, out, _ = cli(capsys, "list")
    assert "spam.example\tsuspend [reject media] — Spam" in out
    assert cli(capsys, "unblock", "SPAM.example")[:2] == (0, "Unblocked spam.example.\n")
    assert not DomainBlock.objects.exists()
    assert list(AuditEntry.objects.filter(verb__startswith="domain.").values_list("verb", "actor_name")) == [
        ("domain.blocked", "system"),
        ("domain.unblocked", "system"),
    ]


def test_cli_errors_are_clear_and_write_nothing(world, capsys, tmp_path) -> None:
    assert cli(capsys, "block", "https://x.example") == (
        1,
        "",
        "'https://x.example' is not a domain: give the host name only, e.g. example.com.\n",
    )
    assert cli(capsys, "unblock", "nothing.example") == (1, "", "nothing.example is not blocked.\n")
    assert cli(capsys, "disallow", "nothing.example") == (1, "", "nothing.example is not on the allow-list.\n")
    code, _, err = cli(capsys, "import", str(tmp_path / "missing.csv"))
    assert code == 1 and "Cannot read" in err
    with pytest.raises(SystemExit):
        main(["domains", "block", "x.example", "--severity", "nuke"])  # argparse names the choices
    assert not DomainBlock.objects.exists()


def test_cli_import_export_all_or_nothing(world, capsys, tmp_path) -> None:
    good = tmp_path / "blocks.csv"
    good.write_text(
        "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\na.example,silence,false,true,,false\nb.example,suspend,true,false,Spam,true\n"
    )
    assert cli(capsys, "import", str(good))[:2] == (0, "Imported 2 domain block(s).\n")
    code, out, _ = cli(capsys, "export")
    assert code == 0 and out == good.read_text()
    bad = tmp_path / "bad.csv"
    bad.write_text("#domain,#severity\nc.example,suspend\nd..example,suspend\ne.example,whatever\n")
    code, out, err = cli(capsys, "import", str(bad))
    assert code == 1 and out == ""
    assert err.splitlines()[0] == "Nothing was imported:" and "row 3:" in err and "row 4:" in err and "row 2" not in err
    assert set(DomainBlock.objects.values_list("domain", flat=True)) == {"a.example", "b.example"}
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00bad")
    assert cli(capsys, "import", str(binary))[0] == 1


def test_cli_allow_list(world, capsys) -> None:
    assert cli(capsys, "allow", "Friends.Example")[:2] == (0, "Allowed friends.example.\n")
    assert "allowed\tfriends.example" in cli(capsys, "list")[1]
    assert cli(capsys, "disallow", "friends.example")[0] == 0 and not DomainAllow.objects.exists()


# --- Admin API ----------------------------------------------------------------------------------------


def password_token(account, scope: str) -> str:
    r = password_grant(register_app(scopes=ADMIN_SCOPES), account.username, scope=scope)
    assert r.status_code == 200, r.content
    return str(r.json()["access_token"])


@pytest.fixture
def admin_api(world):
    return bearer(password_token(world.admin, ADMIN_SCOPES))


def test_admin_api_blocks_crud(world, admin_api) -> None:
    r = admin_api.post(
        "/api/v1/admin/domain_blocks",
        {
            "domain": "Bücher.Example",
            "severity": "suspend",
            "reject_media": "true",
            "public_comment": "Spam",
            "private_comment": "see case 12",
            "obfuscate": "1",
        },
    )
    assert r.status_code == 200, r.content
    made = r.json()
    assert {
        k: made[k]
        for k in ("domain", "severity", "reject_media", "reject_reports", "public_comment", "private_comment", "obfuscate")
    } == {
        "domain": "xn--bcher-kva.example",
        "severity": "suspend",
        "reject_media": True,
        "reject_reports": False,
        "public_comment": "Spam",
        "private_comment": "see case 12",
        "obfuscate": True,
    }
    assert len(made["digest"]) == 64
    assert admin_api.get("/api/v1/admin/domain_blocks").json() == [made]
    assert admin_api.get(f"/api/v1/admin/domain_blocks/{made['id']}").json() == made
    again = admin_api.post("/api/v1/admin/domain_blocks", {"domain": "xn--bcher-kva.example."})
    assert again.status_code == 422 and "already blocked" in again.json()["error"]
    changed = admin_api.put(
        f"/api/v1/admin/domain_blocks/{made['id']}", {"severity": "silence"}, content_type="application/json"
    ).json()
    assert (changed["severity"], changed["reject_media"], changed["public_comment"]) == ("silence", True, "Spam")
    assert admin_api.delete(f"/api/v1/admin/domain_blocks/{made['id']}").json() == {}
    assert admin_api.get(f"/api/v1/admin/domain_blocks/{made['id']}").status_code == 404
    assert admin_api.get("/api/v1/admin/domain_blocks/nope").status_code == 404
    assert list(AuditEntry.objects.filter(verb__startswith="domain.").values_list("verb", flat=True)) == [
        "domain.blocked",
        "domain.block_updated",
        "domain.unblocked",
    ]


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({}, "Enter a domain"),
        ({"domain": "https://x.example"}, "host name only"),
        ({"domain": "x.example", "severity": "nuke"}, "severity"),
        ({"domain": "x.example", "reject_media": "perhaps"}, "reject_media"),
    ],
)
def test_admin_api_refuses_bad_input_with_422(world, admin_api, data, says) -> None:
    r = admin_api.post("/api/v1/admin/domain_blocks", data)
    assert r.status_code == 422 and says in r.json()["error"]
    assert not DomainBlock.objects.exists()


def test_admin_api_allows(world, admin_api) -> None:
    r = admin_api.post("/api/v1/admin/domain_allows", {"domain": "Friends.Example."})
    assert r.status_code == 200 and r.json()["domain"] == "friends.example"
    allow_id = r.json()["id"]
    assert [a["domain"] for a in admin_api.get("/api/v1/admin/domain_allows").json()] == ["friends.example"]
    assert admin_api.get(f"/api/v1/admin/domain_allows/{allow_id}").json()["id"] == allow_id
    assert admin_api.post("/api/v1/admin/domain_allows", {"domain": ""}).status_code == 422
    assert admin_api.delete(f"/api/v1/admin/domain_allows/{allow_id}").json() == {}
    assert not DomainAllow.objects.exists()


def test_admin_api_needs_an_admin_and_the_scope(world) -> None:
    moderator = bearer(password_token(world.mod, ADMIN_SCOPES))
    assert moderator.get("/api/v1/admin/domain_blocks").status_code == 403
    assert moderator.post("/api/v1/admin/domain_blocks", {"domain": "x.example"}).status_code == 403
    reader = bearer(password_token(world.admin, "read admin:read:domain_blocks"))
    assert reader.get("/api/v1/admin/domain_blocks").status_code == 200
    assert reader.post("/api/v1/admin/domain_blocks", {"domain": "x.example"}).status_code == 403
    assert reader.get("/api/v1/admin/domain_allows").status_code == 403
    assert Client().get("/api/v1/admin/domain_blocks").status_code == 401
    assert not DomainBlock.objects.exists()


def test_public_domain_blocks_api(world) -> None:
    assert Client().get("/api/v1/instance/domain_blocks").json() == []
    policy.block_domain(
        None,
        policy.check_block(
            "example.com", severity="suspend", obfuscate=True, public_comment="Harassment", private_comment="secret"
        ),
    )
    policy.block_domain(None, policy.check_block("silly.example", severity="silence"))
    body = Client().get("/api/v1/instance/domain_blocks").json()
    assert [(b["domain"], b["severity"], b["comment"]) for b in body] == [
        ("exa****.*om", "suspend", "Harassment"),
        ("silly.example", "silence", None),
    ]
    assert "secret" not in str(body) and len(body[0]["digest"]) == 64


# --- Web --------------------------------------------------------------------------------------------


def test_web_admin_pages_block_import_export_and_lift(world, client_for) -> None:
    c = client_for(world.admin)
    assert c.get("/admin/domains").status_code == 200
    r = c.post(
        "/admin/domains", {"domain": "Spam.Example", "severity": "suspend", "reject_media": "on", "public_comment": "Spam"}
    )
    assert r.status_code == 302 and r["Location"] == "/admin/domains"
    page = c.get("/admin/domains").content.decode()
    assert "spam.example" in page and "is now blocked (suspend)" in page
    bad = c.post("/admin/domains", {"domain": "https://nope", "severity": "silence"})
    assert bad.status_code == 400 and "host name only" in bad.content.decode()
    csv = c.get("/admin/domains/export.csv")
    assert csv["Content-Type"].startswith("text/csv") and "spam.example,suspend,true,false,Spam,false" in csv.content.decode()
    refused = c.post("/admin/domains/import", {"csv": "#domain,#severity\nok.example,silence\nbad..example,silence\n"})
    assert (
        refused.status_code == 400
        and "row 3" in refused.content.decode()
        and not DomainBlock.objects.filter(domain="ok.example").exists()
    )
    assert c.post("/admin/domains/import", {"csv": "#domain,#severity\nok.example,silence\n"}).status_code == 302
    assert c.post("/admin/domains/unblock", {"domain": "spam.example"}).status_code == 302
    assert list(DomainBlock.objects.values_list("domain", flat=True)) == ["ok.example"]
    assert c.post("/admin/domains/allow", {"domain": "friends.example"}).status_code == 302
    assert DomainAllow.objects.filter(domain="friends.example").exists()
    assert c.post("/admin/domains/allow", {"domain": "friends.example", "action": "remove"}).status_code == 302
    assert not DomainAllow.objects.exists()


def test_web_admin_pages_are_404_for_everyone_else(world, client_for) -> None:
    for account in (None, world.alice, world.mod):
        c = client_for(account)
        assert c.get("/admin/domains").status_code == 404
        assert c.post("/admin/domains", {"domain": "x.example", "severity": "suspend"}).status_code == 404
        assert c.get("/admin/domains/export.csv").status_code == 404
        assert c.post("/admin/domains/import", {"csv": "x.example"}).status_code == 404
    assert not DomainBlock.objects.exists()


def test_the_public_page_lists_moderated_servers(world) -> None:
    policy.block_domain(None, policy.check_block("example.com", severity="suspend", obfuscate=True, public_comment="Harassment"))
    page = Client().get("/about/domain_blocks").content.decode()
    assert "exa****.*om" in page and "Harassment" in page and "example.com" not in page.replace("exa****.*om", "")
    assert 'href="/about/domain_blocks"' in Client().get("/about").content.decode()
