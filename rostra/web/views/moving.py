"""Settings → Moving: aliases ("moving from a different account") and moving this account to
another one, or cancelling the redirect. The work is in ``rostra.accounts.moving``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from rostra.accounts import moving, twofactor
from rostra.accounts.models import Account, User
from rostra.core.errors import ValidationError
from rostra.web.http import account_required, apply_errors, domain_errors, me
from rostra.web.views import security as security_views

MOVE_URL = "/settings/move"


class AliasForm(forms.Form):
    handle = forms.CharField(
        label="Handle of the old account",
        max_length=300,
        help_text="Such as @you@old.example, or the address of its profile.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class MoveForm(forms.Form):
    handle = forms.CharField(
        label="Handle of the new account",
        max_length=300,
        help_text="Such as @you@new.example. Add this account as an alias there first.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    password = forms.CharField(
        label="Your current password",
        strip=False,
        max_length=1000,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    code = forms.CharField(
        label="Two-factor code",
        required=False,
        max_length=40,
        help_text="From your authenticator app, or a recovery code.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


def _page(
    request: HttpRequest, *, alias_form: AliasForm | None = None, move_form: MoveForm | None = None, status: int = 200
) -> HttpResponse:
    account: Account = Account.objects.select_related("moved_to").get(pk=me(request).pk)
    user: User = request.user  # type: ignore[assignment]
    ctx: dict[str, Any] = {
        "nav": "settings",
        "section": "move",
        "account": account,
        "aliases": list(account.also_known_as or []),
        "max_aliases": moving.MAX_ALIASES,
        "alias_form": alias_form or AliasForm(),
        "move_form": move_form or MoveForm(),
        "two_factor_on": twofactor.is_enabled(user),
        "next_move_at": moving.next_move_allowed_at(account),
        "cooldown_days": moving.MOVE_COOLDOWN.days,
        "own_handle": f"@{account.username}@{settings.ROSTRA.domain}",
    }
    return render(request, "rostra/settings/move.html", ctx, status=status)


@require_http_methods(["GET", "POST"])
@domain_errors
@account_required
def move(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _page(request)
    form = MoveForm(request.POST)
    # Password and code guesses here count like sign-in guesses: a stolen session must not help.
    refused = security_views._limited(request, request.user)  # type: ignore[arg-type]
    if refused is not None:
        return refused
    if form.is_valid():
        data = form.cleaned_data
        try:
            result = moving.move_to(request.user, data["handle"], data["password"], data["code"])  # type: ignore[arg-type]
        except ValidationError as exc:
            security_views._count_failure(request.user)  # type: ignore[arg-type]
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                f"This account now points to @{result.target.acct}; {result.followers_moved} follower(s) here moved with it. Followers on other servers are told.",
            )
            return HttpResponseRedirect(MOVE_URL)
    return _page(request, move_form=form, status=400)


@require_POST
@domain_errors
@account_required
def cancel(request: HttpRequest) -> HttpResponse:
    moving.cancel_redirect(me(request))
    messages.success(request, "The redirect is cancelled. Followers who already moved stay with the new account.")
    return HttpResponseRedirect(MOVE_URL)


@require_POST
@domain_errors
@account_required
def add_alias(request: HttpRequest) -> HttpResponse:
    form = AliasForm(request.POST)
    if form.is_valid():
        try:
            uri = moving.add_alias(me(request), form.cleaned_data["handle"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"Added {uri}. That account can now move here.")
            return HttpResponseRedirect(MOVE_URL + "#aliases")
    return _page(request, alias_form=form, status=400)


@require_POST
@domain_errors
@account_required
def remove_alias(request: HttpRequest) -> HttpResponse:
    moving.remove_alias(me(request), request.POST.get("uri", ""))
    messages.success(request, "The alias is removed.")
    return HttpResponseRedirect(MOVE_URL + "#aliases")
