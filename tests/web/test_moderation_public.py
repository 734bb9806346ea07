"""The public face of the policy (guidelines, transparency report) and the admins' policy and role tools."""

from __future__ import annotations

import copy
import json
import re
from html.parser import HTMLParser

import pytest

from rostra.accounts.models import Role, User
from rostra.moderation import actions
from rostra.moderation.models import AuditEntry, PolicyVersion
from rostra.moderation.policy import default_document
from rostra.posts.actions import Draft, create_post

pytestmark = pytest.mark.screening  # the pages show the policy in force, not the lenient test policy

INCITEMENT = "Everyone grab your guns, we march on the capitol tomorrow and hang the traitors"
INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle\s*=|\son[a-z]+\s*=", re.I)


def fresh_document() -> dict:
    return copy.deepcopy(default_document())  # the default is cached: never change it in place


class FormReader(HTMLParser):
    """The fields a browser would submit from the first form whose hidden ``mode`` is ``form``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[list[tuple[str, str]]] = []
        self._form: list[tuple[str, str]] | None = None
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = []
        elif self._form is None:
            return
        elif tag == "input":
            kind = a.get("type", "text")
            if kind == "checkbox":
                if "checked" in a:
                    self._form.append((a["name"], a.get("value", "on")))
            elif "name" in a:
                self._form.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select, self._options = a["name"], []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea":
            self._textarea, self._text = a["name"], ""

    def handle_endtag(self, tag: str) -> None:
        if self._form is None:
            return
        if tag == "form":
            self.forms.append(self._form)
            self._form = None
        elif tag == "select" and self._select is not None:
            chosen = [v for v, sel in self._options if sel] or [self._options[0][0]]
            self._form.append((self._select, chosen[0]))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self._form.append((self._textarea, self._text.removeprefix("\n")))
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data


def editor_form(client) -> dict[str, str]:
    reader = FormReader()
    reader.feed(client.get("/admin/policy").content.decode())
    [form] = [f for f in reader.forms if ("mode", "form") in f]
    return dict(form)


def _no_inline_code_and_labelled_inputs(html: str) -> None:
    assert not INLINE.search(html), INLINE.search(html)
    labelled = set(re.findall(r'<label[^>]*\bfor="([^"]+)"', html))
    for tag in re.findall(r"<(?:input|select|textarea)\b[^>]*>", html):
        if 'type="hidden"' in tag:
            continue
        field_id = re.search(r'\bid="([^"]+)"', tag)
        assert field_id and field_id.group(1) in labelled, tag


# ---- the community guidelines -------------------------------------------------------------------


def test_the_guidelines_show_every_rule_gravest_first_and_what_happens(world, client_for):
    response = client_for(None).get("/about/rules")
    assert response.status_code == 200
    html = response.content.decode()
    titles = [c["title"] for c in default_document()["categories"].values()]
    for title in titles:
        assert title in html
    assert html.index("Violence and incitement") < html.index("Hateful conduct") < html.index("Harassment") < html.index("Sexual content</h3>")
    assert "Posts that may break this rule are held for a moderator&#x27;s review before anyone else sees them; milder cases are kept off public timelines" in html
    assert "published behind a content warning (“Sexual content”)" in html
    assert "The same steps apply to posts from accounts younger than 7 days at lower scores" in html  # violence
    assert "Posts from accounts younger than 7 days that may break this rule are kept off public timelines" in html  # sexual: limit, then label
    assert "a moderator other than the one who acted" in html.lower() and "community jury of 5" in html
    assert "Version 0" in html
    _no_inline_code_and_labelled_inputs(html)


def test_the_guidelines_follow_a_saved_policy(world, client_for):
    doc = fresh_document()
    doc["categories"]["hate"] = {**doc["categories"]["hate"], "guideline": "Attack ideas, not people for who they are."}
    doc["categories"]["spam"] = {**doc["categories"]["spam"], "thresholds": [], "new_account_thresholds": []}
    actions.save_policy(world.admin.user, doc, "Shorter hate guideline; spam left to reports.")
    html = client_for(world.bob).get("/about/rules").content.decode()
    assert "Attack ideas, not people for who they are." in html
    assert "Version 1, in force since" in html
    assert "are not acted on automatically under this rule; moderators act on reports." in html


def test_about_links_to_the_guidelines_and_the_report(world, client_for):
    html = client_for(None).get("/about").content.decode()
    assert 'href="/about/rules"' in html and 'href="/about/transparency"' in html


# ---- the transparency report --------------------------------------------------------------------


def test_the_transparency_report_as_json_and_as_a_page(world, client_for):
    post = create_post(world.alice, Draft(text=INCITEMENT))
    actions.act_on_post(world.mod.user, post.pk, "remove", reason="Incitement.", category="violence")
    client = client_for(None)
    response = client.get("/about/transparency.json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "public, max-age=300"
    data = json.loads(response.content)
    assert data["schema"] == "rostra.transparency/1" and len(data["months"]) == 12
    month = data["months"][-1]
    assert month["posts_screened"] == 1 and month["decisions"] == {"violence": {"hold": 1}}
    assert month["actions"]["human"] == {"remove": {"violence": 1}}
    assert not re.search(r"\b(alice|maya|ada)\b", response.content.decode(), re.I)
    assert len(client.get("/about/transparency.json?months=3").json()["months"]) == 3
    assert len(client.get("/about/transparency.json?months=nonsense").json()["months"]) == 12

    page = client.get("/about/transparency")
    html = page.content.decode()
    assert page.status_code == 200 and "<table" in html and "Month by month" in html
    assert "Removed the post" in html and "Violence and incitement" in html
    assert 'href="/about/transparency.json"' in html
    _no_inline_code_and_labelled_inputs(html)


# ---- the policy editor --------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["anonymous", "bob", "mod"])
def test_only_admins_see_the_policy_tools(world, client_for, who):
    account = None if who == "anonymous" else getattr(world, who)
    client = client_for(account)
    for url in ("/admin/policy", "/admin/policy/versions", "/admin/policy/versions/0", "/admin/roles"):
        assert client.get(url).status_code == 404, url
    assert client.post("/admin/policy", {"mode": "json", "document_json": json.dumps(default_document()), "note": "x"}).status_code == 404
    assert client.post("/admin/roles", {"username": who, "role": "admin"}).status_code == 404
    assert not PolicyVersion.objects.exists()
    assert not User.objects.filter(role=Role.ADMIN).exclude(pk=world.admin.user.pk).exists()


def test_the_unchanged_form_submits_the_policy_in_force(world, client_for):
    client = client_for(world.admin)
    html = client.get("/admin/policy").content.decode()
    assert "Version 0 is in force" in html
    _no_inline_code_and_labelled_inputs(html)
    form = editor_form(client)
    form["note"] = "No change, to check the form round-trips."
    response = client.post("/admin/policy", form)
    assert response.status_code == 302 and response["Location"] == "/admin/policy"
    assert PolicyVersion.objects.get().document == default_document()


def test_an_admin_changes_a_threshold_and_the_guideline(world, client_for):
    client = client_for(world.admin)
    form = editor_form(client)
    form["categories.hate.thresholds.0.score"] = "0.8"
    form["categories.hate.guideline"] = "Attack ideas, not people."
    form["categories.sexual.same_for_new"] = "1"
    form["note"] = "Hold hateful posts sooner."
    response = client.post("/admin/policy", form, follow=True)
    assert "version 1 of the policy is now in force" in response.content.decode()
    version = PolicyVersion.objects.get()
    hate = version.document["categories"]["hate"]
    assert hate["thresholds"][0] == {"score": 0.8, "action": "hold"} and hate["guideline"] == "Attack ideas, not people."
    assert "new_account_thresholds" not in version.document["categories"]["sexual"]
    assert version.note == "Hold hateful posts sooner." and version.created_by == world.admin.user
    assert AuditEntry.objects.filter(verb="policy.saved", target_id=1).exists()
    # The versions list and the version's page, with what changed.
    listing = client.get("/admin/policy/versions").content.decode()
    assert "Hold hateful posts sooner." in listing and "@ada" in listing and 'href="/admin/policy/versions/1"' in listing
    detail = client.get("/admin/policy/versions/1").content.decode()
    assert "hate: thresholds 0.9→hold, 0.7→limit → 0.8→hold, 0.7→limit." in detail
    assert "hate: the guideline changed." in detail and "This version is in force." in detail
    assert "&quot;Attack ideas, not people.&quot;" in detail
    assert client.get("/admin/policy/versions/2").status_code == 404


def test_an_invalid_threshold_is_shown_next_to_its_field_and_nothing_is_saved(world, client_for):
    client = client_for(world.admin)
    form = editor_form(client)
    form["categories.hate.thresholds.0.score"] = "2"
    form["categories.violence.thresholds.1.action"] = "refuse"  # hold at 0.85 but refuse at 0.6: milder for a higher score
    form["new_account_days"] = "a week"
    form["note"] = "Broken on purpose."
    response = client.post("/admin/policy", form)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing was saved" in html
    score_errors = re.search(r'<ul class="field-errors" id="p-categories-hate-thresholds-0-score-errors">(.*?)</ul>', html, re.S)
    assert score_errors and "score is a number above 0 and at most 1." in score_errors.group(1)
    assert 'id="p-categories-hate-thresholds-0-score" name="categories.hate.thresholds.0.score" value="2"' in html
    assert "A higher score must not lead to a milder action" in html
    assert re.search(r'id="p-new-account-days-errors"><li>new_account_days is a whole number', html)
    assert 'value="a week"' in html and "Broken on purpose." in html  # what was typed is kept
    assert not PolicyVersion.objects.exists()


def test_a_note_is_required(world, client_for):
    client = client_for(world.admin)
    form = editor_form(client)
    form["note"] = "  "
    response = client.post("/admin/policy", form)
    assert response.status_code == 400 and "Say what changed and why" in response.content.decode()
    assert not PolicyVersion.objects.exists()


def test_rules_are_added_with_an_id_and_removed(world, client_for):
    client = client_for(world.admin)
    form = editor_form(client)
    form.update({"rules.0.pattern": "buy followers", "rules.0.kind": "keyword", "rules.0.category": "spam", "rules.0.action": "hold"})
    form.update({"rules.1.id": "bad", "rules.1.pattern": r"(a)\1", "rules.1.kind": "regex", "rules.1.category": "spam", "rules.1.action": "limit"})
    form["note"] = "Two rules."
    response = client.post("/admin/policy", form)
    assert response.status_code == 400  # a backreference could take exponential time
    assert re.search(r'<tr class="has-error">.*?value="bad".*?<ul class="field-errors"><li>[^<]*backreference', response.content.decode(), re.S)
    assert not PolicyVersion.objects.exists()
    del form["rules.1.id"], form["rules.1.pattern"]
    assert client.post("/admin/policy", form).status_code == 302
    assert PolicyVersion.objects.get().document["rules"] == [
        {"id": "r1", "kind": "keyword", "category": "spam", "action": "hold", "pattern": "buy followers"},
    ]
    form = editor_form(client)
    assert form["rules.0.id"] == "r1"
    form["rules.0.remove"] = "1"
    form["note"] = "Remove the rule."
    assert client.post("/admin/policy", form).status_code == 302
    assert PolicyVersion.objects.get(version=2).document["rules"] == []


def test_the_json_alternative(world, client_for):
    client = client_for(world.admin)
    response = client.post("/admin/policy", {"mode": "json", "document_json": "{not json", "note": "x"})
    assert response.status_code == 400 and "This is not valid JSON" in response.content.decode()
    bad = fresh_document()
    bad["categories"]["hate"]["thresholds"] = [{"score": 0, "action": "hold"}]
    response = client.post("/admin/policy", {"mode": "json", "document_json": json.dumps(bad), "note": "x"})
    assert response.status_code == 400 and "categories.hate.thresholds[0].score" in response.content.decode()
    doc = fresh_document()
    doc["new_account_days"] = 30
    assert client.post("/admin/policy", {"mode": "json", "document_json": json.dumps(doc), "note": "A month."}).status_code == 302
    assert PolicyVersion.objects.get().document["new_account_days"] == 30


# ---- roles --------------------------------------------------------------------------------------


def test_an_admin_makes_bob_a_moderator_and_it_is_audited(world, client_for):
    client = client_for(world.admin)
    html = client.get("/admin/roles").content.decode()
    assert "@maya" in html and "@ada" in html and "@bob" not in html
    _no_inline_code_and_labelled_inputs(html)
    response = client.post("/admin/roles", {"username": "@Bob", "role": "moderator"}, follow=True)
    assert "@bob is now a moderator (was member)." in response.content.decode()
    assert User.objects.get(pk=world.bob.user.pk).role == Role.MODERATOR
    entry = AuditEntry.objects.get(verb="role.changed")
    assert entry.actor_id == world.admin.user.pk and entry.account_id == world.bob.pk and entry.target_type == "account"
    assert entry.target_id == world.bob.pk and entry.detail == {"from": "member", "to": "moderator"}
    # bob can now work the queue, but still cannot change roles.
    assert client_for(world.bob).get("/admin/roles").status_code == 404


def test_the_last_admin_cannot_be_demoted_and_unknown_people_are_named(world, client_for):
    client = client_for(world.admin)
    response = client.post("/admin/roles", {"username": "ada", "role": "member"})
    assert response.status_code == 400 and "This is the last admin" in response.content.decode()
    assert User.objects.get(pk=world.admin.user.pk).role == Role.ADMIN
    response = client.post("/admin/roles", {"username": "nobody", "role": "moderator"})
    assert response.status_code == 400 and "No one here is called @nobody." in response.content.decode()
    response = client.post("/admin/roles", {"username": "maya", "role": "moderator"})
    assert response.status_code == 400 and "already a moderator" in response.content.decode()
    assert not AuditEntry.objects.filter(verb="role.changed").exists()
    # With a second admin, the first may step down.
    assert client.post("/admin/roles", {"username": "maya", "role": "admin"}).status_code == 302
    assert client.post("/admin/roles", {"username": "ada", "role": "member"}).status_code == 302
    assert User.objects.get(pk=world.admin.user.pk).role == Role.MEMBER
    assert AuditEntry.objects.filter(verb="role.changed").count() == 2
