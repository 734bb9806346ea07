"""Settings: the public profile, the password and posting preferences, deleting the account."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout, update_session_auth_hash
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from rostra.accounts import actions as accounts
from rostra.core.errors import ValidationError
from rostra.web.forms import DeleteAccountForm, PasswordForm, PreferencesForm, ProfileForm
from rostra.web.http import account_required, apply_errors, domain_errors, me


def _image(upload: UploadedFile | None, field: str) -> bytes | None:
    if upload is None:
        return None
    if upload.size and upload.size > settings.ROSTRA.media_max_bytes:
        limit = settings.ROSTRA.media_max_bytes // (1024 * 1024)
        raise ValidationError(f"The file is too large; the limit is {limit} MiB.", field=field)
    return upload.read()


@require_http_methods(["GET", "POST"])
@domain_errors
@account_required
def profile(request: HttpRequest) -> HttpResponse:
    account = me(request)
    if request.method == "POST":
        form = ProfileForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                change = accounts.ProfileUpdate(
                    display_name=data["display_name"], note=data["note"], fields=form.profile_fields(),
                    locked=data["locked"], discoverable=data["discoverable"], bot=data["bot"],
                    avatar=_image(data["avatar"], "avatar"), header=_image(data["header"], "header"),
                    remove_avatar=data["remove_avatar"], remove_header=data["remove_header"],
                )
                accounts.update_profile(account, change)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, "Your profile is saved.")
                return HttpResponseRedirect("/settings/profile")
        status = 400
    else:
        initial: dict[str, object] = {
            "display_name": account.display_name, "note": account.note, "locked": account.locked,
            "discoverable": account.discoverable, "bot": account.bot,
        }
        for i, f in enumerate(account.fields or []):
            initial[f"field_{i}_name"], initial[f"field_{i}_value"] = f.get("name", ""), f.get("value", "")
        form = ProfileForm(initial=initial)
        status = 200
    return render(request, "rostra/settings/profile.html", {"form": form, "account": account, "nav": "settings", "section": "profile"}, status=status)


@require_http_methods(["GET", "POST"])
@domain_errors
@account_required
def account_settings(request: HttpRequest) -> HttpResponse:
    user = request.user
    password_form = PasswordForm(prefix="pw")
    prefs_form = PreferencesForm(
        initial={"default_visibility": user.default_visibility, "default_sensitive": user.default_sensitive, "default_language": user.default_language}  # type: ignore[union-attr]
    )
    status = 200
    if request.method == "POST":
        which = request.POST.get("form")
        if which == "password":
            password_form = PasswordForm(request.POST, prefix="pw")
            if password_form.is_valid():
                try:
                    accounts.change_password(
                        user,  # type: ignore[arg-type]
                        password_form.cleaned_data["old_password"],
                        password_form.cleaned_data["new_password"],
                        keep_session_key=request.session.session_key,  # this browser stays signed in
                    )
                except ValidationError as exc:
                    apply_errors(password_form, exc)
                else:
                    update_session_auth_hash(request, user)  # type: ignore[arg-type]  # stay signed in here
                    messages.success(request, "Your password is changed.")
                    return HttpResponseRedirect("/settings/account")
        else:
            prefs_form = PreferencesForm(request.POST)
            if prefs_form.is_valid():
                try:
                    accounts.update_preferences(
                        user,  # type: ignore[arg-type]
                        default_visibility=prefs_form.cleaned_data["default_visibility"],
                        default_sensitive=prefs_form.cleaned_data["default_sensitive"],
                        default_language=prefs_form.cleaned_data["default_language"],
                    )
                except ValidationError as exc:
                    apply_errors(prefs_form, exc)
                else:
                    messages.success(request, "Your preferences are saved.")
                    return HttpResponseRedirect("/settings/account")
        status = 400
    ctx = {"password_form": password_form, "prefs_form": prefs_form, "nav": "settings", "section": "account", "account": me(request)}
    return render(request, "rostra/settings/account.html", ctx, status=status)


@require_http_methods(["GET", "POST"])
@domain_errors
@account_required
def delete_account(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = DeleteAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            accounts.delete_account(user, form.cleaned_data["password"])  # type: ignore[arg-type]
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            logout(request)
            messages.success(request, "Your account and everything in it is deleted. Goodbye!")
            return HttpResponseRedirect("/")
    status = 400 if request.method == "POST" else 200
    return render(request, "rostra/settings/delete.html", {"form": form, "nav": "settings", "section": "delete", "account": me(request)}, status=status)
