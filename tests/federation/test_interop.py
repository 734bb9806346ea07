"""Rostra against independent ActivityPub implementations, all real and on loopback:

* fediverse-pasture (PyPI, https://funfedi.dev): its verify_actor application probes a live Rostra
  with its six test actors (unsigned and signed fetches and posts), and its ActivitySender delivers
  its catalogue of sample Create(Note)s (fediverse-pasture-inputs) to a Rostra account, which must
  then render them through the Mastodon API.
* Fedify (npm, https://fedify.dev): lookupObject and the strict fromJsonLd parse a Rostra actor and
  note (tests/federation/js/lookup.mjs).

Both are installed by `make clients` (pasture in its own virtualenv under .venv/clients/pasture).
"""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.federation.multi import Instance, User, free_port, instances, wait_until

pytestmark = [pytest.mark.live, pytest.mark.own_sqlite]

ROOT = Path(__file__).resolve().parents[2]
PASTURE_PYTHON = ROOT / ".venv" / "clients" / "pasture" / "bin" / "python"
PASTURE_TOOL = Path(__file__).parent / "interop" / "pasture_tool.py"
FEDIFY_LOOKUP = Path(__file__).parent / "js" / "lookup.mjs"
NODE22 = ROOT / ".venv" / "clients" / "node22" / "node_modules" / ".bin" / "node"  # Fedify needs Node.js >= 22
PASTURE_HOST = "127.0.0.5"


@dataclass
class Pasture:
    base: str
    directory: Path

    @property
    def actor(self) -> str:
        return f"{self.base}/actor"

    def key(self) -> tuple[str, str]:
        """The key id and private key (PEM) of pasture's application actor, from its data.toml."""
        data = tomllib.loads((self.directory / "data.toml").read_text())
        pair = data["one_actor"]["key_pairs"][0]
        return f"{self.actor}#{pair['name']}", pair["private"]


@pytest.fixture(scope="module")
def rostra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instance]:
    with instances(Path(tmp_path_factory.mktemp("interop")), 1) as [server]:
        assert "ROSTRA_AUTHORIZED_FETCH" not in server.env  # the shipped default: signed fetches required
        yield server


@pytest.fixture(scope="module")
def pasture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pasture]:
    if not PASTURE_PYTHON.exists():
        pytest.fail(f"fediverse-pasture is not installed ({PASTURE_PYTHON} is missing): run `make clients`")
    directory = Path(tmp_path_factory.mktemp("pasture"))
    port = free_port(PASTURE_HOST)
    base = f"http://{PASTURE_HOST}:{port}"
    with open(directory / "pasture.log", "w") as log:
        proc = subprocess.Popen([str(PASTURE_PYTHON), str(PASTURE_TOOL), "serve", str(directory), PASTURE_HOST, str(port)],
                                stdout=log, stderr=subprocess.STDOUT, cwd=directory)  # bovine's JSON-LD cache lands there
        try:
            wait_until(lambda: _get(f"{base}/actor", "application/activity+json")[0] == 200 or proc.poll() is not None, timeout=60,
                       what="pasture's verify_actor server")
            assert proc.poll() is None, (directory / "pasture.log").read_text()
            yield Pasture(base, directory)
        finally:
            proc.terminate()
            proc.wait(timeout=20)


def _get(url: str, accept: str) -> tuple[int, bytes]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": accept}), timeout=60) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


# --- fediverse-pasture: verify_actor --------------------------------------------------------------


def test_pasture_verify_actor_unsigned_refused_signed_accepted(rostra, pasture):
    target = rostra.user("verified")
    actor_uri = target.actor_uri
    status, body = _get(f"{pasture.base}/?" + urllib.parse.urlencode({"actor_uri": actor_uri}), "application/json")
    assert status == 200, body[:500]
    answer = json.loads(body)
    result, messages = answer["result"], answer["messages"]
    # alice and dean fetch and post without signatures. The POST is refused. The GET gets the minimal
    # actor authorised fetch leaves open (id, inbox, key: what a peer needs to check signatures, nothing
    # the person wrote, as Mastodon's secure mode answers), which pasture counts as "got the actor";
    # that it is the minimal one, and that an unsigned GET of anything else is refused, is checked below.
    for unsigned in ("alice", "dean"):
        assert result[unsigned] == {"get_actor": True, "post_inbox": False}, messages
    # bob, claire, emily and frank sign their fetches and posts (claire and frank also want their own
    # actor fetched signed, so Rostra's key fetch must be signed too): accepted.
    for signed in ("bob", "claire", "emily", "frank"):
        assert result[signed] == {"get_actor": True, "post_inbox": True}, messages
    assert result["webfinger"] is True, messages
    status, body = _get(actor_uri, "application/activity+json")
    assert status == 200 and "inbox" in json.loads(body) and "publicKey" in json.loads(body)
    assert not {"name", "summary", "icon", "attachment"} & set(json.loads(body)), body[:500]
    post = target.post("signed readers only")
    status, body = _get(f"{actor_uri}/statuses/{post['id']}", "application/activity+json")
    assert status == 401, body[:300]


# --- fediverse-pasture: the catalogue of notes ----------------------------------------------------

CATALOGUES = ("content_warnings", "mentions", "hashtags", "image_description", "attachments")
MEDIA_TYPES = {"Image", "Document", "Video", "Audio"}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _sent(rostra: Instance, pasture: Pasture, target: User) -> list[dict[str, Any]]:
    done = subprocess.run(
        [str(PASTURE_PYTHON), str(PASTURE_TOOL), "send", str(pasture.directory), pasture.base, target.actor_uri, *CATALOGUES],
        capture_output=True, text=True, timeout=300, check=False, cwd=pasture.directory,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(lines) > 40 and all(line["status"] == 202 for line in lines), [(x["input"], x["number"], x["status"]) for x in lines]
    return lines


def _rendered(rostra: Instance, target: User, sent: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The Rostra API's status for each note sent, by its ActivityPub id (waits for the inbox's tasks)."""
    ids = [line["object_id"] for line in sent]
    code = (
        "from rostra.federation.models import RemotePost\n"
        f"result = dict(RemotePost.objects.filter(uri__in={ids!r}).values_list('uri', 'post_id'))"
    )
    stored: dict[str, int] = wait_until(lambda: (found := rostra.query(code)) and len(found) == len(ids) and found, timeout=90,
                                        what="every note stored")
    return {uri: target.api("GET", f"/api/v1/statuses/{post_id}") for uri, post_id in stored.items()}


def test_pasture_catalogue_of_notes_renders_through_the_api(rostra, pasture):
    target = rostra.user("catalogue")
    sent = _sent(rostra, pasture, target)
    statuses = _rendered(rostra, target, sent)
    sender = f"actor@{PASTURE_HOST}:{pasture.base.rsplit(':', 1)[1]}"
    for line in sent:
        note, status, where = line["note"], statuses[line["object_id"]], f"{line['input']} #{line['number']}"
        assert status["account"]["acct"] == sender, where
        assert status["visibility"] == "public", where
        # The mention of the Rostra account every example carries (pasture's --mention) is a mention.
        assert target.acct.split("@")[0] in [m["username"] for m in status["mentions"]], where
        if isinstance(note.get("content"), str) and not note["content"].startswith("<"):
            assert re.sub(r"<[^>]+>", "", note["content"]).split(" @")[0] in re.sub(r"<[^>]+>", "", status["content"]), where
        # Content warnings: summary is the spoiler text; sensitive (or a summary) marks the status.
        if note.get("summary"):
            assert status["spoiler_text"] == note["summary"] and status["sensitive"] is True, where
        elif note.get("sensitive") is True:
            assert status["sensitive"] is True, where
        # Hashtags: a Hashtag tag whose name is made of word characters is one of the status's tags.
        for tag in _as_list(note.get("tag")):
            if isinstance(tag, dict) and tag.get("type") == "Hashtag":
                name = str(tag.get("name", "")).lstrip("#").lower()
                if re.fullmatch(r"\w+", name):
                    assert name in [t["name"].lower() for t in status["tags"]], where
        # Attachments: every media object with a url is there as data (type, origin, alt text), at most four.
        media = [a for a in _as_list(note.get("attachment")) if isinstance(a, dict) and a.get("type") in MEDIA_TYPES
                 and isinstance(a.get("url"), str)]
        assert len(status["media_attachments"]) == min(len(media), 4), (where, status["media_attachments"])
        for attachment, shown in zip(media, status["media_attachments"], strict=False):
            assert shown["remote_url"] == attachment["url"], where
            assert (shown["description"] or None) == attachment.get("name"), where


# --- Fedify ---------------------------------------------------------------------------------------


def _fedify(*urls: str, key: tuple[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "NODE_PATH": str(ROOT / "node_modules")}
    if key:
        env |= {"FEDIFY_KEY_ID": key[0], "FEDIFY_KEY_PEM": key[1]}
    if not (ROOT / "node_modules" / "@fedify" / "fedify" / "package.json").exists() or not NODE22.exists():
        pytest.fail("@fedify/fedify or Node.js 22 is not installed: run `make clients`")
    return subprocess.run([str(NODE22), str(FEDIFY_LOOKUP), *urls], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_fedify_parses_a_rostra_actor_and_note_strictly(rostra, pasture):
    author = rostra.user("fedified")
    author.api("PATCH", "/api/v1/accounts/update_credentials", {"display_name": "Fedi Fied", "note": "I am parsed by Fedify."})
    post = author.post("Parsed by #Fedify, strictly", spoiler_text="a test")
    note_url = f"{rostra.base}/users/{author.username}/statuses/{post['id']}"
    # Signed with pasture's actor key (Rostra requires signed fetches): Rostra fetches that actor to verify.
    done = _fedify(author.actor_uri, note_url, key=pasture.key())
    assert done.returncode == 0, done.stderr[-3000:]
    read = json.loads(done.stdout)
    actor, note = read["actor"], read["note"]
    assert actor["id"] == author.actor_uri and actor["preferredUsername"] == "fedified" and actor["name"] == "Fedi Fied"
    assert "I am parsed by Fedify." in actor["summary"]
    assert actor["inbox"] == f"{author.actor_uri}/inbox" and actor["outbox"] == f"{author.actor_uri}/outbox"
    assert actor["followers"] == f"{author.actor_uri}/followers" and actor["following"] == f"{author.actor_uri}/following"
    assert actor["sharedInbox"] == f"{rostra.base}/inbox" and actor["manuallyApprovesFollowers"] is False
    assert actor["publicKey"] == {"id": f"{author.actor_uri}#main-key", "owner": author.actor_uri, "algorithm": "RSASSA-PKCS1-v1_5"}
    assert note["id"] == note_url and note["attributedTo"] == author.actor_uri
    assert "Parsed by" in note["content"] and note["summary"] == "a test" and note["sensitive"] is True
    assert "https://www.w3.org/ns/activitystreams#Public" in note["to"] and note["published"]
    assert {"type": "Hashtag", "name": "#fedify", "href": f"{rostra.base}/tags/fedify"} in [
        {**t, "name": t["name"].lower()} for t in note["tags"]
    ]


def test_fedify_unsigned_lookup_of_a_note_is_refused(rostra):
    author = rostra.user("unsigned")
    post = author.post("only for signed fetches")
    done = _fedify(author.actor_uri, f"{rostra.base}/users/{author.username}/statuses/{post['id']}")
    assert done.returncode != 0
    assert "not a Note" in done.stderr or "401" in done.stderr, done.stderr[-2000:]

