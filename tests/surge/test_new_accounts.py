"""During a surge, accounts younger than 7 days meet lower limits and a stricter screening policy."""

from __future__ import annotations

import copy
import dataclasses
import io
from datetime import timedelta

import pytest
from django.test import Client
from PIL import Image

from rostra.accounts import actions as accounts
from rostra.accounts import surge
from rostra.accounts.models import Account
from rostra.core.clock import now
from rostra.core.errors import RateLimited
from rostra.moderation import gate
from rostra.moderation.models import Decision
from rostra.moderation.policy import SURGE_TIGHTEN, Policy, default_document
from rostra.posts.actions import Draft, create_post, upload_media
from rostra.posts.models import Post
from rostra.testing.world import make_account

pytestmark = [pytest.mark.django_db]


def _limits(settings, raw: str) -> None:
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, rate_limits=raw)


def _age(account: Account, days: int) -> Account:
    Account.objects.filter(pk=account.pk).update(created_at=now() - timedelta(days=days))
    account.refresh_from_db()
    return account


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 200, 10)).save(buf, format="PNG")
    return buf.getvalue()


def test_new_accounts_post_less_during_a_surge(world, settings, surging) -> None:
    _limits(settings, "surge_post=2/30m")
    newbie = make_account("newbie")  # the world's accounts are months old
    for i in range(2):
        create_post(newbie, Draft(text=f"hello {i}"))
    with pytest.raises(RateLimited, match="New accounts can make at most 2 posts") as caught:
        create_post(newbie, Draft(text="one too many"))
    assert caught.value.retry_after > 0
    assert not Post.objects.filter(text__contains="one too many").exists()
    veteran = _age(world.bob, 30)
    for i in range(4):
        create_post(veteran, Draft(text=f"old hand {i}"))  # older accounts: the ordinary limits only


def test_without_a_surge_new_accounts_are_not_limited_more(world, settings) -> None:
    _limits(settings, "surge_post=1/30m,surge_follow=1/30m")
    fresh = make_account("freshling")
    for i in range(3):
        create_post(fresh, Draft(text=f"calm day {i}"))
    accounts.follow(fresh, world.bob)
    accounts.follow(fresh, world.dave)


def test_follows_and_uploads_are_limited_for_new_accounts(world, settings, surging) -> None:
    _limits(settings, "surge_follow=1/30m,surge_media=1/30m")
    fresh = make_account("freshling")
    accounts.follow(fresh, world.alice)
    assert accounts.follow(fresh, world.alice) == "following"  # already following: not counted again
    with pytest.raises(RateLimited, match="follows"):
        accounts.follow(fresh, world.bob)
    upload_media(fresh, _png())
    with pytest.raises(RateLimited, match="uploads"):
        upload_media(fresh, _png())


def test_the_api_and_the_web_answer_429(world, settings, surging, client_for) -> None:
    from tests.api.conftest import bearer, password_grant, register_app

    _limits(settings, "surge_post=1/30m")
    newbie = make_account("newbie")
    token = password_grant(register_app(), "newbie", scope="read write").json()["access_token"]
    assert bearer(token).post("/api/v1/statuses", {"status": "first"}).status_code == 200
    r = bearer(token).post("/api/v1/statuses", {"status": "second"})
    assert r.status_code == 429 and "surge mode" in r.json()["error"] and int(r["Retry-After"]) > 0
    web = client_for(newbie)
    r = web.post("/compose", {"text": "third", "visibility": "public"})
    assert r.status_code == 429 and b"surge mode" in r.content
    assert Post.objects.filter(author=newbie, text__in=["second", "third"]).count() == 0
    assert Client().get("/about").status_code == 200


def test_the_policy_tightens_new_account_thresholds_in_a_surge_and_names_the_rule() -> None:
    policy = Policy.from_document(default_document())
    score = policy.categories["hate"].new_account_thresholds[1].score - SURGE_TIGHTEN / 2  # just under "limit"
    calm = policy.decide({"hate": score}, new_account=True)
    assert calm.action == "publish"
    tight = policy.decide({"hate": score}, new_account=True, surge=True)
    assert tight.action == "limit" and tight.rule == "hate.new_account_thresholds[1]@surge"
    assert "surge mode" in tight.reason
    assert policy.decide({"hate": score}, new_account=False, surge=True).action == "publish"  # older accounts: as before


@pytest.mark.screening
def test_a_new_accounts_post_is_screened_more_strictly_and_the_decision_says_why(world, surging) -> None:
    text = "Buy cheap followers now, click here for a free prize, limited offer!!!"
    newbie, other = make_account("newbie"), make_account("another")
    scores = gate.screen_post(author_id=newbie.pk, text=text, spoiler_text="", remember=False).scores
    middling = {c: v for c, v in scores.items() if SURGE_TIGHTEN < v < 0.9}
    assert middling, scores  # the screener sees something in it, not everything
    category, top = max(middling.items(), key=lambda kv: kv[1])
    doc = copy.deepcopy(default_document())
    for cat in doc["categories"].values():
        cat["thresholds"], cat["new_account_thresholds"] = [], []
    doc["spam_wave"]["posts"] = 10_000  # the same text twice is not a wave here
    doc["categories"][category]["new_account_thresholds"] = [{"score": round(top + SURGE_TIGHTEN / 2, 4), "action": "hold"}]
    with gate.using_policy(Policy.from_document(doc)):
        post = create_post(newbie, Draft(text=text))
        surge.set_mode(None, "off")
        calm = create_post(other, Draft(text=text))
    held = Decision.objects.get(post_id=post.pk, source="create")
    assert held.action == "hold" and held.rule.endswith("@surge") and "surge mode" in held.reason
    calm_decision = Decision.objects.get(post_id=calm.pk, source="create")
    assert calm_decision.action == "publish", (calm_decision.rule, calm_decision.scores, top)
