"""What every web endpoint shares: who is asking, where to go back to, and how domain errors answer.

Domain errors map to answers in one place (``domain_errors``):

* ``NotFound`` -> the 404 page (identical whether the thing is missing or only invisible);
* ``PermissionDenied`` -> the 403 page;
* ``Conflict`` -> a message, then back where the person came from;
* ``ValidationError`` outside a form (a button) -> a 400 page with the message.

Forms catch ``ValidationError`` themselves and re-render with the messages next to the fields.
With htmx, errors answer with a toast (the ``rostra:toast`` event) and swap nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from rostra.accounts.models import Account
from rostra.core.errors import Conflict, DomainError, NotFound, PermissionDenied, RateLimited, ValidationError

View = Callable[..., HttpResponse]


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def viewer(request: HttpRequest) -> Account | None:
    """The account of the person asking (None: anonymous), looked up once per request."""
    if not request.user.is_authenticated:
        return None
    if not hasattr(request, "_rostra_account"):
        request._rostra_account = Account.objects.filter(user_id=request.user.pk).first()  # type: ignore[attr-defined]
    return request._rostra_account  # type: ignore[attr-defined]


def me(request: HttpRequest) -> Account:
    """The signed-in person's account; only called behind ``account_required``."""
    account = viewer(request)
    assert account is not None
    return account


def account_required(view: View) -> View:
    """Sign-in required, and the login must have a public account (a bare admin login has none)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if viewer(request) is None:
            raise PermissionDenied("This login has no public account.")
        return view(request, *args, **kwargs)

    return wrapper


def safe_next(request: HttpRequest, default: str = "/home") -> str:
    """The ``next`` parameter if it is a same-origin relative path; ``default`` otherwise."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if (
        candidate.startswith("/")
        and not candidate.startswith(("//", "/\\"))
        and "\\" not in candidate
        and not any(ord(c) < 32 for c in candidate)
        and url_has_allowed_host_and_scheme(candidate, allowed_hosts=None)
    ):
        return candidate
    return default


def back(request: HttpRequest, default: str = "/home") -> HttpResponseRedirect:
    return HttpResponseRedirect(safe_next(request, default))


def toast(response: HttpResponse, message: str) -> HttpResponse:
    """Ask app.js to show a short message (an htmx response header; JSON keeps it ASCII)."""
    response["HX-Trigger"] = json.dumps({"rostra:toast": {"message": message}})
    return response


def error_page(request: HttpRequest, status: int, message: str = "") -> HttpResponse:
    if is_htmx(request):
        response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
        response["HX-Reswap"] = "none"
        return toast(response, message or "Something went wrong.")
    template = {404: "rostra/errors/404.html", 403: "rostra/errors/403.html"}.get(status, "rostra/errors/400.html")
    return render(request, template, {"message": message}, status=status)


def not_found(request: HttpRequest) -> HttpResponse:
    # One fixed text: a missing thing and a thing you may not see must answer alike.
    return error_page(request, 404, "This page does not exist, or is not available to you.")


def domain_errors(view: View) -> View:
    """Map the domain errors a view lets through to their web answers."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            return not_found(request)
        except PermissionDenied as exc:
            return error_page(request, 403, exc.message)
        except Conflict as exc:
            if is_htmx(request):
                response = HttpResponse(status=409)
                response["HX-Reswap"] = "none"
                return toast(response, exc.message)
            messages.warning(request, exc.message)
            return back(request)
        except ValidationError as exc:
            return error_page(request, 400, exc.message)
        except RateLimited as exc:  # e.g. surge mode's limits for new accounts
            limited = error_page(request, 429, exc.message)
            limited["Retry-After"] = str(max(1, int(exc.retry_after)))
            return limited

    return wrapper


def apply_errors(form: Any, exc: ValidationError) -> None:
    """Put a domain ValidationError's messages on a Django form, next to the fields they name."""
    for field, texts in exc.errors.items():
        known = field in form.fields and not form.fields[field].widget.is_hidden
        target = field if known else None
        for text in texts:
            form.add_error(target, text)


__all__ = [
    "DomainError", "account_required", "apply_errors", "back", "domain_errors", "error_page", "is_htmx", "me",
    "not_found", "safe_next", "toast", "viewer",
]
