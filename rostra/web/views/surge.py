"""Surge mode's pages: the waitlist (join, see one's place, sign up once admitted), invite links,
and the admins' switch at ``/admin/surge`` (rostra.accounts.surge does the work)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from rostra.accounts import surge
from rostra.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from rostra.core.ids import parse_id
from rostra.web.forms import SignupForm
from rostra.web.http import apply_errors, not_found

PAGE = "/admin/surge"


class WaitlistForm(forms.Form):
    email = forms.CharField(max_length=254, strip=True, widget=forms.EmailInput(attrs={"autocomplete": "email"}))


class AdmittedForm(forms.Form):
    username = forms.CharField(
        max_length=200,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}),
    )
    password = forms.CharField(max_length=1000, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))


def _welcome(request: HttpRequest, user: Any) -> HttpResponse:
    surge.note_signup()
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(request, f"Welcome to {settings.ROSTRA.instance_name}, @{user.username}!")
    return HttpResponseRedirect("/home")


def signup(request: HttpRequest) -> HttpResponse | None:
    """``/signup`` during a surge (None when there is none): an invite link's form, or the waitlist."""
    code = (request.POST.get("invite") if request.method == "POST" else request.GET.get("invite")) or ""
    if not surge.is_active():
        return None
    status = surge.status()
    if code:
        form = SignupForm(request.POST or None)
        invite_error = ""
        try:
            surge.check_invite(code)
        except ValidationError as exc:
            invite_error = exc.message
        if request.method == "POST" and not invite_error and form.is_valid():
            try:
                user = surge.sign_up_with_invite(
                    code, form.cleaned_data["username"], form.cleaned_data["email"], form.cleaned_data["password"]
                )
            except ValidationError as exc:
                if "invite" in exc.errors:
                    invite_error = exc.message
                else:
                    apply_errors(form, exc)
            else:
                return _welcome(request, user)
        if invite_error:
            return render(
                request,
                "rostra/auth/waitlist.html",
                {"nav": "signup", "form": WaitlistForm(), "surge": status, "invite_error": invite_error},
                status=400 if request.method == "POST" else 404,
            )
        return render(
            request,
            "rostra/auth/signup.html",
            {"form": form, "nav": "signup", "invite": code},
            status=400 if request.method == "POST" else 200,
        )
    waitlist_form = WaitlistForm(request.POST or None)
    if request.method == "POST" and waitlist_form.is_valid():
        try:
            entry = surge.join_waitlist(waitlist_form.cleaned_data["email"])
        except (ValidationError, Conflict) as exc:
            waitlist_form.add_error("email", exc.message)
        else:
            return HttpResponseRedirect(f"/signup/waitlist/{surge.token_for(entry)}")
    return render(
        request,
        "rostra/auth/waitlist.html",
        {"nav": "signup", "form": waitlist_form, "surge": status},
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
def waitlist(request: HttpRequest, token: str) -> HttpResponse:
    """One's place on the waitlist; once admitted, the form that creates the account."""
    try:
        entry = surge.entry_for_token(token)
    except NotFound as exc:
        return render(request, "rostra/auth/waitlist_status.html", {"nav": "signup", "invalid": exc.message}, status=404)
    form = AdmittedForm(request.POST or None)
    if request.method == "POST" and entry.admitted_at is not None and form.is_valid():
        try:
            user = surge.sign_up_admitted(token, form.cleaned_data["username"], form.cleaned_data["password"])
        except ValidationError as exc:
            apply_errors(form, exc)
        except (NotFound, PermissionDenied) as exc:
            return render(request, "rostra/auth/waitlist_status.html", {"nav": "signup", "invalid": exc.message}, status=404)
        else:
            return _welcome(request, user)
    context = {"nav": "signup", "entry": entry, "position": surge.position(entry), "form": form, "link": surge.link_for(entry)}
    failed = request.method == "POST"
    return render(
        request,
        "rostra/auth/waitlist_status.html",
        context,
        status=(400 if entry.admitted_at is not None else 403) if failed else 200,
    )


# --- The admins' page -------------------------------------------------------------------------------


def _admin_page(
    request: HttpRequest, *, errors: dict[str, str] | None = None, status: int = 200, new_invite: str = ""
) -> HttpResponse:
    info = surge.describe()
    return render(
        request,
        "rostra/moderation/surge.html",
        {
            "nav": "policy",
            "section": "surge",
            "info": info,
            "modes": surge.MODES,
            "invites": surge.invites(),
            "invite_link_prefix": f"{settings.ROSTRA.base_url}/signup?invite=",
            "errors": errors or {},
            "new_invite": new_invite,
            "can_switch": request.user.is_authenticated and request.user.is_staff,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
def admin(request: HttpRequest) -> HttpResponse:
    """Moderators see the state and make invites; admins also switch, word the banner and admit."""
    user = request.user
    if not user.is_authenticated or not getattr(user, "is_moderator", False):
        return not_found(request)
    if request.method == "GET":
        return _admin_page(request)
    action = request.POST.get("action", "")
    try:
        if action == "mode":
            st = surge.set_mode(user, request.POST.get("mode", ""), reason=request.POST.get("reason", ""))
            messages.success(request, f"Surge mode is now {st.mode}{' (sign-ups are queued)' if st.active else ''}.")
        elif action == "message":
            surge.set_message(user, request.POST.get("message", ""))
            messages.success(request, "The surge banner is saved.")
        elif action == "admit":
            raw = request.POST.get("count", "").strip()
            if not raw.isdigit():
                raise ValidationError("Admit a whole number of people.", field="count")
            admitted = surge.admit(user, int(raw))
            messages.success(request, f"{len(admitted)} admitted from the waitlist; each gets an email with their link.")
        elif action == "invite":
            uses, days = request.POST.get("max_uses", "1").strip(), request.POST.get("expires_in_days", "").strip()
            if not uses.isdigit() or (days and not days.isdigit()):
                raise ValidationError("Uses and days are whole numbers.", field="invite")
            invite = surge.create_invite(user, max_uses=int(uses), expires_in_days=int(days) if days else None)
            return _admin_page(request, new_invite=surge.invite_link(invite))
        elif action == "revoke":
            invite_id = parse_id(request.POST.get("invite", ""))
            if invite_id is None:
                raise NotFound("No such invite.")
            surge.revoke_invite(user, invite_id)
            messages.success(request, "The invite is withdrawn.")
        else:
            raise ValidationError("Unknown action.", field="action")
    except ValidationError as exc:
        return _admin_page(request, errors={action or "action": exc.message}, status=400)
    except (PermissionDenied, NotFound) as exc:
        return _admin_page(
            request, errors={action or "action": exc.message}, status=403 if isinstance(exc, PermissionDenied) else 404
        )
    return HttpResponseRedirect(PAGE)
