"""Two people use Rostra in a real browser, against a real server with its real task worker.

Ann and Ben sign up, Ann posts, Ben follows her, sees her post on his home timeline, likes it
and replies; Ann reads her notifications. Then the page is checked for installability.
"""

from __future__ import annotations

import re
import time

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.live]
PASSWORD = "a-quite-long-passphrase-42"


def sign_up(page, base: str, username: str) -> None:
    page.goto(base + "/")
    page.get_by_role("link", name=re.compile("create (an )?account|sign up", re.I)).first.click()
    page.get_by_label(re.compile("^username", re.I)).fill(username)
    page.get_by_label(re.compile("email", re.I)).fill(f"{username}@example.org")
    page.get_by_label(re.compile("password", re.I)).fill(PASSWORD)
    page.get_by_role("button", name=re.compile("sign up|create", re.I)).click()
    page.wait_for_url(re.compile(r"/home$"))


def post_card(page, text: str):
    return page.locator("article.post").filter(has_text=text).first


def reload_until(page, predicate, timeout_s: float = 20.0) -> None:
    """Background work (fan-out, notifications) is done by the worker process: reload until it shows."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting on {page.url}")
        time.sleep(0.4)
        page.reload()


def test_two_people_sign_up_post_follow_like_reply_and_read_notifications(live_rostra, browser):
    base = live_rostra
    ann_ctx, ben_ctx = browser.new_context(), browser.new_context()
    ann, ben = ann_ctx.new_page(), ben_ctx.new_page()
    errors: list[str] = []
    for page in (ann, ben):
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    sign_up(ann, base, "ann")
    sign_up(ben, base, "ben")

    # Ann posts from her home timeline's compose box.
    ann.get_by_role("textbox", name=re.compile("on your mind|post", re.I)).first.fill("Hello from Ann! #firstpost")
    ann.get_by_role("button", name=re.compile("^(post|publish)$", re.I)).first.click()
    reload_until(ann, lambda: post_card(ann, "Hello from Ann!").is_visible())
    assert ann.get_by_role("link", name="#firstpost").first.is_visible()

    # Ben finds Ann's profile and follows her.
    ben.goto(base + "/@ann")
    ben.get_by_role("button", name=re.compile("^follow$", re.I)).click()
    ben.get_by_role("button", name=re.compile("unfollow @ann", re.I)).wait_for()

    # Ann's post reaches Ben's home timeline (the worker backfills after the follow).
    ben.goto(base + "/home")
    reload_until(ben, lambda: post_card(ben, "Hello from Ann!").is_visible())

    # Ben likes it (htmx swaps the button in place) and replies.
    card = post_card(ben, "Hello from Ann!")
    card.get_by_role("button", name=re.compile("^like", re.I)).click()
    card.locator("button.action-like.on").wait_for()
    card.get_by_role("link", name=re.compile("^reply", re.I)).click()
    ben.wait_for_url(re.compile(r"/compose\?reply_to="))
    ben.get_by_role("textbox", name=re.compile("on your mind|reply|post", re.I)).first.fill("Welcome aboard, @ann!")
    ben.get_by_role("button", name=re.compile("^(post|reply|publish)$", re.I)).first.click()
    ben.wait_for_load_state()

    # Ann sees an unread count, then a follow, a like and a reply in her notifications.
    ann.goto(base + "/home")
    badge = ann.locator("a[href='/notifications'] .badge").first
    reload_until(ann, lambda: badge.count() > 0 and badge.inner_text().strip() not in ("", "0"))
    ann.goto(base + "/notifications")
    body = ann.locator("main").inner_text()
    assert re.search(r"ben\b.*follow", body, re.I | re.S), body
    assert re.search(r"lik", body, re.I), body
    assert "Welcome aboard" in body, body

    # The thread shows the reply under Ann's post.
    ann.goto(base + "/@ann")
    post_card(ann, "Hello from Ann!").locator("a[href*='/@ann/']").first.click()
    ann.wait_for_url(re.compile(r"/@ann/\d+$"))
    assert post_card(ann, "Welcome aboard").is_visible()

    assert not errors, errors
    ann_ctx.close()
    ben_ctx.close()


def test_the_page_is_installable_as_a_web_app(live_rostra, playwright, tmp_path):
    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    # A persistent profile, as a person's browser has: Chromium never offers to install in incognito.
    ctx = playwright.chromium.launch_persistent_context(str(tmp_path / "profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    page = ctx.pages[0] if ctx.pages else ctx.new_page()
    page.goto(live_rostra + "/")
    href = page.locator("link[rel=manifest]").get_attribute("href")
    assert href
    manifest = page.evaluate("async (u) => (await fetch(u)).json()", href)
    assert manifest["display"] in ("standalone", "minimal-ui", "fullscreen")
    sizes = {i["sizes"] for i in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    # The service worker takes control of the origin.
    scope = page.evaluate("async () => (await navigator.serviceWorker.ready).scope")
    assert scope == live_rostra + "/"
    # Chromium's own verdict on installability (what makes the browser offer "Install").
    cdp = ctx.new_cdp_session(page)
    deadline = time.monotonic() + 15
    while True:
        result = cdp.send("Page.getInstallabilityErrors")
        if not result["installabilityErrors"] or time.monotonic() > deadline:
            break
        time.sleep(0.5)
        page.reload()
    assert result["installabilityErrors"] == [], result
    ctx.close()
