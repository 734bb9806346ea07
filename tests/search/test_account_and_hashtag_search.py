"""Searching for people and hashtags."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings

from rostra.accounts.models import Account
from rostra.core.clock import now
from rostra.posts.models import Hashtag
from rostra.search.queries import search_accounts, search_hashtags
from rostra.testing.world import make_account, make_post


def names(accounts: list[Account]) -> list[str]:
    return [a.acct for a in accounts]


# --- Accounts -----------------------------------------------------------------------------------


def test_username_prefix_and_display_name(world):
    assert names(search_accounts(world.bob, "ali")) == ["alice"]
    assert names(search_accounts(world.bob, "ALI")) == ["alice"]
    assert names(search_accounts(world.bob, "liddell")) == ["alice"]
    assert names(search_accounts(world.bob, "Bob Build")) == ["bob"]
    assert search_accounts(world.bob, "lice") == []  # usernames match from the start only


def test_a_leading_at_and_the_local_domain_are_understood(world):
    assert names(search_accounts(world.bob, "@alice")) == ["alice"]
    assert names(search_accounts(world.bob, f"@alice@{settings.ROSTRA.domain}")) == ["alice"]
    assert names(search_accounts(world.bob, f"alice@{settings.ROSTRA.hostname}")) == ["alice"]


def test_remote_handles(world):
    Account.objects.create(username="alice", domain="social.example", display_name="Another Alice")
    Account.objects.create(username="alicia", domain="other.example")
    assert names(search_accounts(world.bob, "alice@social.example")) == ["alice@social.example"]
    assert names(search_accounts(world.bob, "@ali@soc")) == ["alice@social.example"]  # typing the domain
    assert names(search_accounts(world.bob, "alice@")) == ["alice", "alice@social.example"]
    # Local accounts first when the query names no domain.
    assert names(search_accounts(world.bob, "ali")) == ["alice", "alice@social.example", "alicia@other.example"]


def test_an_exact_username_comes_first(world):
    fan = make_account("alice_fan_club", display_name="Alice Fans")
    Account.objects.filter(pk=fan.pk).update(followers_count=500)
    make_account("alicea")
    assert names(search_accounts(world.bob, "alice"))[0] == "alice"
    assert names(search_accounts(world.bob, "alice"))[1] == "alice_fan_club"  # then the most followed


def test_discoverable_accounts_rank_first(world):
    hidden = make_account("sam_hidden")
    Account.objects.filter(pk=hidden.pk).update(discoverable=False, followers_count=100)
    make_account("sam_shown")
    assert names(search_accounts(world.bob, "sam")) == ["sam_shown", "sam_hidden"]


def test_suspended_accounts_and_accounts_that_block_you_are_left_out(world):
    Account.objects.filter(pk=world.dave.pk).update(suspended_at=now())
    assert search_accounts(world.bob, "dave") == []
    assert search_accounts(world.eve, "alice") == []  # alice blocks eve
    assert names(search_accounts(world.alice, "eve")) == ["eve"]  # the blocker can still find whom to unblock


def test_the_limit_is_respected(world):
    for i in range(8):
        make_account(f"gardener{i}")
    assert len(search_accounts(None, "gardener", limit=5)) == 5


@pytest.mark.parametrize("q", ["", "  ", "@", "@@", "@example.org", "%", "%%%", "\\", "\x00", "a" * 10_000, "💥", "'; --"])
def test_odd_account_queries_find_nothing_and_never_fail(world, q):
    assert search_accounts(world.bob, q) == []


def test_control_characters_are_dropped(world):
    assert names(search_accounts(world.bob, "\x00ali\x07ce\n")) == ["alice"]


def test_like_wildcards_are_literal(world):
    assert search_accounts(world.bob, "%") == []
    assert search_accounts(world.bob, "_") == []
    assert search_accounts(world.bob, "a_i") == []


# --- Hashtags -----------------------------------------------------------------------------------


def test_hashtag_prefix_with_or_without_the_hash(world):
    make_post(world.alice, "Busy day #Gardening #GardenParty #garden #cycling")
    assert {h.name for h in search_hashtags("gard")} == {"gardening", "gardenparty", "garden"}
    assert {h.name for h in search_hashtags("#GARD")} == {"gardening", "gardenparty", "garden"}
    assert [h.name for h in search_hashtags("#cyc")] == ["cycling"]
    assert search_hashtags("arden") == []


def test_exact_tag_first_then_shortest_then_alphabetical_as_mastodon(world):
    make_post(world.alice, "#garden #gardenparty #gardening")
    t = now()
    # Recent use does not reorder: clients (toot's own tests) expect Mastodon's stable order.
    Hashtag.objects.filter(name="gardenparty").update(last_used_at=t)
    Hashtag.objects.filter(name="garden").update(last_used_at=t - timedelta(days=9))
    assert [h.name for h in search_hashtags("gardening")] == ["gardening"]
    assert [h.name for h in search_hashtags("garden")] == ["garden", "gardening", "gardenparty"]
    assert [h.name for h in search_hashtags("gard")] == ["garden", "gardening", "gardenparty"]
    assert [h.name for h in search_hashtags("gard", limit=1)] == ["garden"]


@pytest.mark.parametrize("q", ["", "#", "##", " # ", "%", "_", "\x00", "#" * 10_000, "a" * 10_000, "'; --"])
def test_odd_hashtag_queries_are_safe(world, q):
    make_post(world.alice, "#garden")
    assert search_hashtags(q) == []
