"""Two-factor authentication in the browser: Settings → Security, and the sign-in's second step.

The second step (``/login/2fa``): after a correct password the login view calls
``begin_second_step``; a login with two-factor on is *not* signed in, only remembered in the
session as half-way (its id, the login backend and where to go next), for five minutes. The
OAuth consent page signs people in through the same login view, so it gets the same step.

Wrong codes count against the sign-in limits that the rate-limit middleware applies to the
password step (``login_ip`` per network, ``login_account`` per account name; see
``rostra.core.ratelimit``), so a 6-digit code cannot be guessed through many tries; if the limiter
cannot count, the step fails closed.
"""

from __future__ import annotations

from typing import Any

import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rostra.accounts import twofactor
from rostra.accounts.models import User
from rostra.core import clock, ratelimit
from rostra.core.errors import Conflict, ValidationError
from rostra.web.http import account_required, apply_errors, me

PENDING_KEY = "rostra_2fa_pending"
PENDING_LIFETIME_S = 5 * 60
SECURITY_URL = "/settings/security"

_CODE_ATTRS = {"autocomplete": "one-time-code", "autocapitalize": "none", "spellcheck": "false", "inputmode": "text"}


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=64,
        widget=forms.TextInput(attrs=_CODE_ATTRS),
        help_text="The 6-digit code your authenticator app shows now, or one of your recovery codes.",
    )


class ConfirmForm(forms.Form):
    code = forms.CharField(
        label="Code from the app",
        max_length=64,
        widget=forms.TextInput(attrs={**_CODE_ATTRS, "inputmode": "numeric"}),
        help_text="Enter the 6-digit code the app now shows for this account.",
    )


class PasswordOnlyForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        strip=False,
        max_length=1000,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class DisableForm(PasswordOnlyForm):
    code = CodeForm.base_fields["code"]


# --- The sign-in's second step -----------------------------------------------------------------


def begin_second_step(request: HttpRequest, user: User, next_url: str) -> HttpResponse | None:
    """After a correct password: None when the login has no second factor (sign in now), else a
    redirect to the code page with the login remembered as half-way (not signed in)."""
    if not twofactor.is_enabled(user):
        return None
    request.session.cycle_key()  # a new session id for the half-signed-in state
    request.session[PENDING_KEY] = {
        "user": user.pk,
        "backend": getattr(user, "backend", ""),
        "next": next_url,
        "at": clock.now().timestamp(),
    }
    return HttpResponseRedirect("/login/2fa")


def _pending(request: HttpRequest) -> tuple[User, dict[str, Any]] | None:
    data = request.session.get(PENDING_KEY)
    if not isinstance(data, dict):
        return None
    age = clock.now().timestamp() - float(data.get("at", 0))
    user = twofactor.login_awaiting_code(data.get("user"))
    if not 0 <= age <= PENDING_LIFETIME_S or user is None:
        request.session.pop(PENDING_KEY, None)
        return None
    return user, data


def _limited(request: HttpRequest, user: User) -> HttpResponse | None:
    """Count this attempt as a sign-in from its network and refuse it when that network, or this
    account's failed sign-ins, are over the limit. Fails closed."""
    rules, lim = ratelimit.rules(), ratelimit.limiter()
    ip = ratelimit.ip_group(ratelimit.client_ip(request.META, settings.ROSTRA.trusted_proxies))
    try:
        verdict = lim.hit(rules["login_ip"], ip)
        if not verdict.allowed:
            return _refused(
                request,
                "Too many sign-in attempts from your network. Please wait before trying again.",
                429,
                verdict.retry_after(),
            )
        failures = lim.peek(rules["login_account"], user.username.lower())
        if not failures.allowed or failures.remaining == 0:
            return _refused(
                request, "Too many failed sign-ins to this account. Please wait before trying again.", 429, failures.retry_after()
            )
    except ratelimit.LimiterUnavailable:
        return _refused(request, "Signing in is briefly unavailable; please try again shortly.", 503, 30)
    return None


def _count_failure(user: User) -> None:
    try:
        ratelimit.limiter().hit(ratelimit.rules()["login_account"], user.username.lower())
    except ratelimit.LimiterUnavailable:
        pass  # the attempt already failed; nothing more to protect


def _refused(request: HttpRequest, message: str, status: int, retry_after: int) -> HttpResponse:
    back = SECURITY_URL if request.user.is_authenticated else "/login"
    response = render(request, "rostra/auth/login_2fa.html", {"refused": message, "back": back, "nav": "login"}, status=status)
    response["Retry-After"] = str(retry_after)
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def login_two_factor(request: HttpRequest) -> HttpResponse:
    # Parse: only someone who has just given the right password gets here
    pending = _pending(request)
    if pending is None:
        messages.info(request, "Please log in again: the code must be entered within 5 minutes of the password.")
        return HttpResponseRedirect("/login")
    user, data = pending
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "GET":
        return render(request, "rostra/auth/login_2fa.html", {"form": form, "nav": "login"})
    # Authorise: within the sign-in limits
    refused = _limited(request, user)
    if refused is not None:
        return refused
    # Act
    if form.is_valid():
        try:
            method = twofactor.verify(user, form.cleaned_data["code"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            request.session.pop(PENDING_KEY, None)
            login(request, user, backend=data.get("backend") or None)
            if method == "recovery":
                left = twofactor.status(user).recovery_codes_left
                messages.warning(
                    request,
                    f"You signed in with a recovery code; {left} left. Make new ones in Settings → Security if you need to.",
                )
            return HttpResponseRedirect(str(data.get("next") or "/home"))
    _count_failure(user)
    return render(request, "rostra/auth/login_2fa.html", {"form": form, "nav": "login"}, status=400)


# --- Settings → Security -----------------------------------------------------------------------


def _qr_svg(request: HttpRequest, secret: str) -> str:
    user = request.user
    uri = twofactor.provisioning_uri(
        secret, account_name=f"{user.get_username()}@{settings.ROSTRA.domain}", issuer=settings.ROSTRA.instance_name
    )
    svg = segno.make(uri, error="m").svg_inline(
        scale=4, border=4, dark="#000", light="#fff", title="QR code for your authenticator app"
    )
    return mark_safe(svg)  # noqa: S308 - segno's own SVG markup; the only text in it is our fixed title


def _render(request: HttpRequest, status: int = 200, **forms_: forms.Form) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    state = twofactor.status(user)
    ctx: dict[str, Any] = {
        "two_factor": state,
        "enrol_form": forms_.get("enrol_form") or PasswordOnlyForm(prefix="enrol"),
        "confirm_form": forms_.get("confirm_form") or ConfirmForm(prefix="confirm"),
        "disable_form": forms_.get("disable_form") or DisableForm(prefix="disable"),
        "codes_form": forms_.get("codes_form") or PasswordOnlyForm(prefix="codes"),
        "nav": "settings",
        "section": "security",
        "account": me(request),
    }
    if state.pending_secret:
        ctx["qr_svg"] = _qr_svg(request, state.pending_secret)
        ctx["secret_groups"] = " ".join(state.pending_secret[i : i + 4] for i in range(0, len(state.pending_secret), 4))
    return render(request, "rostra/settings/security.html", ctx, status=status)


def _codes_page(request: HttpRequest, codes: list[str], *, new: bool) -> HttpResponse:
    ctx = {"codes": codes, "new": new, "nav": "settings", "section": "security", "account": me(request)}
    return render(request, "rostra/settings/security_recovery_codes.html", ctx)


def _conflict(request: HttpRequest, exc: Conflict) -> HttpResponse:
    messages.warning(request, exc.message)
    return HttpResponseRedirect(SECURITY_URL)


@never_cache
@require_GET
@account_required
def security(request: HttpRequest) -> HttpResponse:
    return _render(request)


@never_cache
@require_POST
@account_required
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    form = PasswordOnlyForm(request.POST, prefix="enrol")
    if form.is_valid():
        try:
            twofactor.begin_enrolment(request.user, form.cleaned_data["password"])  # type: ignore[arg-type]
        except Conflict as exc:
            return _conflict(request, exc)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return HttpResponseRedirect(SECURITY_URL + "#two-factor")
    return _render(request, 400, enrol_form=form)


@never_cache
@require_POST
@account_required
def two_factor_confirm(request: HttpRequest) -> HttpResponse:
    form = ConfirmForm(request.POST, prefix="confirm")
    if form.is_valid():
        try:
            codes = twofactor.confirm_enrolment(request.user, form.cleaned_data["code"])  # type: ignore[arg-type]
        except Conflict as exc:
            return _conflict(request, exc)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return _codes_page(request, codes, new=True)
    return _render(request, 400, confirm_form=form)


@require_POST
@account_required
def two_factor_cancel(request: HttpRequest) -> HttpResponse:
    twofactor.cancel_enrolment(request.user)  # type: ignore[arg-type]
    return HttpResponseRedirect(SECURITY_URL)


@never_cache
@require_POST
@account_required
def two_factor_disable(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = DisableForm(request.POST, prefix="disable")
    # Password and code guesses here count like sign-in guesses: a stolen session must not help.
    refused = _limited(request, user)
    if refused is not None:
        return refused
    if form.is_valid():
        try:
            twofactor.disable(user, form.cleaned_data["password"], form.cleaned_data["code"])
        except Conflict as exc:
            return _conflict(request, exc)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, "Two-factor authentication is off. Your password alone now signs you in.")
            return HttpResponseRedirect(SECURITY_URL)
    _count_failure(user)
    return _render(request, 400, disable_form=form)


@never_cache
@require_POST
@account_required
def recovery_codes(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = PasswordOnlyForm(request.POST, prefix="codes")
    refused = _limited(request, user)
    if refused is not None:
        return refused
    if form.is_valid():
        try:
            codes = twofactor.regenerate_recovery_codes(user, form.cleaned_data["password"])
        except Conflict as exc:
            return _conflict(request, exc)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return _codes_page(request, codes, new=False)
    _count_failure(user)
    return _render(request, 400, codes_form=form)
