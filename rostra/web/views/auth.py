"""Signing up, logging in and out."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from rostra.accounts import actions as accounts
from rostra.accounts import queries as account_queries
from rostra.accounts import surge
from rostra.core.errors import ValidationError
from rostra.web.forms import LoginForm, SignupForm
from rostra.web.http import apply_errors, safe_next
from rostra.web.views import security
from rostra.web.views import surge as surge_views


def _registrations_open() -> bool:
    return settings.ROSTRA.registrations == "open"


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if not _registrations_open():
        status = 403 if request.method == "POST" else 200
        return render(request, "rostra/auth/closed.html", {"nav": "signup"}, status=status)
    if request.user.is_authenticated:
        return HttpResponseRedirect("/home")
    queued = surge_views.signup(request)  # surge mode: the waitlist, or an invite link's form
    if queued is not None:
        return queued
    # Parse
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # Act: the login and the account are made together or not at all
        try:
            user = accounts.sign_up(form.cleaned_data["username"], form.cleaned_data["email"], form.cleaned_data["password"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            surge.note_signup()  # auto surge mode counts sign-ups
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to {settings.ROSTRA.instance_name}, @{user.username}!")
            return HttpResponseRedirect("/home")
    status = 400 if request.method == "POST" else 200
    return render(request, "rostra/auth/signup.html", {"form": form, "nav": "signup"}, status=status)


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request, "/home")
    if request.user.is_authenticated and request.method == "GET":
        return HttpResponseRedirect(next_url)
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        username = account_queries.login_name(form.cleaned_data["username"])
        user = authenticate(request, username=username, password=form.cleaned_data["password"])
        if user is not None:
            # A login with two-factor on is not signed in yet: the code page comes first.
            second_step = security.begin_second_step(request, user, next_url)
            if second_step is not None:
                return second_step
            login(request, user)
            return HttpResponseRedirect(next_url)
        # One message whatever was wrong: it must not tell who has an account here.
        form.add_error(None, "That username or email and password do not match.")
    status = 400 if request.method == "POST" else 200
    return render(request, "rostra/auth/login.html", {"form": form, "next": next_url, "nav": "login"}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return HttpResponseRedirect("/")
