"""Where you are signed in, and getting back in without your password.

* Settings → Security lists the person's web sign-ins and the apps holding tokens for them
  (``rostra/settings/_sessions.html``, filled by the ``account_sign_ins`` template tag); the
  views here end one sign-in, every sign-in but this one, or an app's access.
* Password reset: ``/password-reset`` asks for an address and answers the same whether or not it
  belongs to anyone (a redirect to ``/password-reset/sent``); the emailed link leads to
  ``/password-reset/<uid>/<token>``, where the new password is set. The work is in
  ``rostra.accounts.password_reset``.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rostra.accounts import password_reset, sessions
from rostra.accounts.models import User
from rostra.core import ratelimit
from rostra.core.errors import NotFound, RateLimited, ValidationError
from rostra.web.http import account_required, apply_errors, domain_errors

SECURITY_URL = "/settings/security"
SENT_URL = "/password-reset/sent"
RESET_UNAVAILABLE = "Password reset is briefly unavailable; please try again shortly."


class ResetRequestForm(forms.Form):
    email = forms.EmailField(label="Email address", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))


class NewPasswordForm(forms.Form):
    new_password = forms.CharField(
        label="New password",
        strip=False,
        max_length=1000,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 10 characters; not a common password.",
    )


def _id(value: str) -> int:
    if not value.isdigit() or len(value) > 19:
        raise NotFound()
    return int(value)


# --- Sign-ins and apps --------------------------------------------------------------------------


@require_POST
@domain_errors
@account_required
def end_session(request: HttpRequest, session_id: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if sessions.end_session(user, _id(session_id), request.session.session_key):
        logout(request)  # this browser's own sign-in: an ordinary sign-out
        return HttpResponseRedirect("/")
    messages.success(request, "That session is signed out.")
    return HttpResponseRedirect(SECURITY_URL + "#sessions")


@require_POST
@domain_errors
@account_required
def end_other_sessions(request: HttpRequest) -> HttpResponse:
    ended = sessions.end_other_sessions(request.user, request.session.session_key)  # type: ignore[arg-type]
    messages.success(request, f"Signed out everywhere else ({ended} session{'s' if ended != 1 else ''}).")
    return HttpResponseRedirect(SECURITY_URL + "#sessions")


@require_POST
@domain_errors
@account_required
def revoke_app(request: HttpRequest, grant_id: str) -> HttpResponse:
    sessions.revoke_app_grant(request.user, _id(grant_id))  # type: ignore[arg-type]
    messages.success(request, "That app can no longer use your account.")
    return HttpResponseRedirect(SECURITY_URL + "#apps")


# --- Password reset -----------------------------------------------------------------------------


def _reset_refused(request: HttpRequest, message: str, status: int, retry_after: int) -> HttpResponse:
    response = render(request, "rostra/auth/password_reset.html", {"refused": message, "nav": "login"}, status=status)
    response["Retry-After"] = str(retry_after)
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def password_reset_request(request: HttpRequest) -> HttpResponse:
    # Parse
    form = ResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # Act: the same answer whether or not the address is anyone's
        ip = ratelimit.client_ip(request.META, settings.ROSTRA.trusted_proxies)
        try:
            password_reset.request_reset(form.cleaned_data["email"], ip)
        except RateLimited as exc:
            return _reset_refused(request, exc.message, 429, exc.retry_after)
        except ratelimit.LimiterUnavailable:
            return _reset_refused(request, RESET_UNAVAILABLE, 503, 30)  # fails closed, like sign-in
        return HttpResponseRedirect(SENT_URL)
    status = 400 if request.method == "POST" else 200
    return render(request, "rostra/auth/password_reset.html", {"form": form, "nav": "login"}, status=status)


@require_GET
def password_reset_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "rostra/auth/password_reset_sent.html", {"message": password_reset.SENT, "nav": "login"})


@never_cache
@require_http_methods(["GET", "POST"])
def password_reset_confirm(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    # Authorise: the link itself is the credential
    try:
        password_reset.check_link(uidb64, token)
    except ValidationError as exc:
        return render(request, "rostra/auth/password_reset_confirm.html", {"invalid": exc.message, "nav": "login"}, status=400)
    form = NewPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            password_reset.reset_password(uidb64, token, form.cleaned_data["new_password"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            if request.user.is_authenticated:
                logout(request)  # every session ended with the old password, this one too
            messages.success(
                request, "Your password is changed, and every session and app signed out. Log in with the new password."
            )
            return HttpResponseRedirect("/login")
    status = 400 if request.method == "POST" else 200
    return render(request, "rostra/auth/password_reset_confirm.html", {"form": form, "nav": "login"}, status=status)
