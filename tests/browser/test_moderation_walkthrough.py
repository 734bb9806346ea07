"""Trust and safety in a real browser, against a real server and its real task worker.

A new account posts incitement: the post is held (only its author sees it, with a banner). A
moderator finds it at the top of the queue, opens the case and removes it with one keystroke.
The author reads the notice (rule, evidence, how to appeal) and appeals; an admin — not the
moderator who acted — reverses it, and the post is public again.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.test_walkthrough import PASSWORD, post_card, reload_until, sign_up

pytestmark = [pytest.mark.browser, pytest.mark.live]
INCITEMENT = "Everyone grab your guns, we march on the capitol tomorrow and hang the traitors"


def log_in(page, base: str, username: str, password: str) -> None:
    page.goto(base + "/login")
    page.get_by_label(re.compile("user", re.I)).fill(username)
    page.get_by_label(re.compile("password", re.I)).fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    assert page.url.endswith("/home"), page.url


def test_held_post_removed_by_keystroke_noticed_appealed_and_reversed(live_rostra, browser):
    base = live_rostra
    live_rostra.rostra("users", "create", "maya", "--email", "maya@example.org", "--password", PASSWORD, "--role", "moderator")
    live_rostra.rostra("users", "create", "ada", "--email", "ada@example.org", "--password", PASSWORD, "--admin")
    errors: list[str] = []
    pages = []
    for _ in range(3):
        page = browser.new_context().new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        pages.append(page)
    author, maya, ada = pages

    sign_up(author, base, "newcomer")
    author.get_by_role("textbox", name=re.compile("on your mind|post", re.I)).first.fill(INCITEMENT)
    author.get_by_role("button", name=re.compile("^(post|publish)$", re.I)).first.click()
    author.wait_for_timeout(300)
    author.goto(base + "/@newcomer")
    reload_until(author, lambda: post_card(author, "grab your guns").is_visible())
    card = post_card(author, "grab your guns")
    assert "waiting for a moderator" in card.inner_text()

    # Nobody else sees it: not signed out, not on the local timeline.
    ada.goto(base + "/local")
    assert "grab your guns" not in ada.content()

    log_in(maya, base, "maya", PASSWORD)
    maya.goto(base + "/moderation")
    reload_until(maya, lambda: "grab your guns" in maya.content())
    maya.locator("a.mod-row-link").first.click()
    maya.wait_for_url(re.compile(r"/moderation/cases/\d+"))
    assert "Violence" in maya.content()
    maya.get_by_label(re.compile("reason", re.I)).fill("Calls on people to take up arms against named targets.")
    maya.locator("h1").first.click()  # leave the text box: keys are ignored while typing
    maya.keyboard.press("r")
    maya.wait_for_url(lambda url: "/cases/" not in url)

    # The author is told: the rule, the evidence, how to appeal.
    author.goto(base + "/notifications")
    reload_until(author, lambda: "moderators" in author.content().lower())
    author.goto(base + "/notices")
    author.get_by_role("link", name=re.compile("removed", re.I)).first.click()
    body = author.content()
    assert "Violence and incitement" in body and "grab your guns" in body
    author.get_by_label(re.compile("why is the decision wrong", re.I)).fill("I was quoting a film.")
    author.get_by_role("button", name="Send appeal").click()
    assert "Waiting for a moderator" in author.content()

    # The admin (not the moderator who acted) reverses it.
    log_in(ada, base, "ada", PASSWORD)
    ada.goto(base + "/moderation/appeals")
    ada.locator('a[href^="/moderation/appeals/"]').filter(has_text="newcomer").first.click()
    ada.get_by_label(re.compile("^Reverse", re.I)).check()
    ada.get_by_label(re.compile("^Reason", re.I)).fill("A quotation, posted in context.")
    ada.get_by_role("button", name="Decide the appeal").click()
    ada.wait_for_load_state()
    ada.goto(base + "/@newcomer")
    reload_until(ada, lambda: "grab your guns" in ada.content())
    assert not errors, errors
