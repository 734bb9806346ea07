"""Forms parse what the browser sent. They check shape only; the domain actions decide what is valid
and their ``ValidationError`` messages are put back on these forms next to the fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest

from rostra.accounts.actions import MAX_FIELDS
from rostra.core.ids import parse_id
from rostra.core.languages import LANGUAGES
from rostra.core.text import parse
from rostra.posts.actions import MAX_MEDIA
from rostra.posts.models import Visibility
from rostra.posts.polls import MAX_OPTIONS, PollDraft

VISIBILITY_CHOICES = [
    (Visibility.PUBLIC, "Public"),
    (Visibility.UNLISTED, "Unlisted"),
    (Visibility.PRIVATE, "Followers only"),
    (Visibility.DIRECT, "Mentioned only"),
]
POLL_DURATIONS = [
    (300, "5 minutes"), (1800, "30 minutes"), (3600, "1 hour"), (21600, "6 hours"),
    (86400, "1 day"), (259200, "3 days"), (604800, "7 days"),
]
VISIBILITY_HELP = (
    "Public: anyone, on public timelines. Unlisted: anyone, but kept off public timelines. "
    "Followers only: your followers and people you mention. Mentioned only: just the people you mention."
)


class SignupForm(forms.Form):
    username = forms.CharField(max_length=200, strip=True, widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}))
    email = forms.CharField(max_length=254, strip=True, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(max_length=1000, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))


class LoginForm(forms.Form):
    username = forms.CharField(label="Username or email", max_length=254, widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}))
    password = forms.CharField(max_length=1000, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class OptionalIdField(forms.CharField):
    """An opaque id, or None when empty. Anything else answers like a post that is not there."""

    def clean(self, value: object) -> int | None:
        raw = super().clean(value)
        if not raw:
            return None
        pid = parse_id(raw)
        if pid is None:
            raise forms.ValidationError("That post is not available.")
        return pid


class ComposeForm(forms.Form):
    text = forms.CharField(label="What is on your mind?", required=False, strip=False, widget=forms.Textarea(attrs={"rows": 4}))
    spoiler_text = forms.CharField(label="Content warning", required=False, max_length=2000, widget=forms.TextInput(attrs={"placeholder": "Write your warning here"}))
    visibility = forms.ChoiceField(label="Who can see this", choices=VISIBILITY_CHOICES)
    sensitive = forms.BooleanField(label="Mark images as sensitive", required=False)
    in_reply_to = OptionalIdField(required=False, widget=forms.HiddenInput)
    quote_of = OptionalIdField(required=False, widget=forms.HiddenInput)
    idempotency_key = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    poll_expires_in = forms.TypedChoiceField(label="Poll length", choices=POLL_DURATIONS, coerce=int, required=False, empty_value=None, initial=86400)
    poll_multiple = forms.BooleanField(label="Allow several choices", required=False)
    poll_hide_totals = forms.BooleanField(label="Hide the results until the poll ends", required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for i in range(MAX_OPTIONS):  # the domain checks the options; the form only caps the input
            self.fields[f"poll_option_{i}"] = forms.CharField(label=f"Option {i + 1}", required=False, max_length=200)

    def option_fields(self) -> list[forms.BoundField]:
        return [self[f"poll_option_{i}"] for i in range(MAX_OPTIONS)]

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        # The domain accepts a direct post that mentions nobody (as Mastodon does: only its author
        # sees it); on the web that is almost always a forgotten @mention, so the form asks for one.
        if data.get("visibility") == "direct" and not data.get("in_reply_to") and not parse(str(data.get("text") or "")).mentions:
            self.add_error("visibility", "A post for mentioned people only needs at least one @mention.")
        return data

    def poll_draft(self) -> PollDraft | None:
        """A poll when any option was filled in (empty slots dropped); None for a post without one."""
        data = self.cleaned_data
        options = [data.get(f"poll_option_{i}") or "" for i in range(MAX_OPTIONS)]
        if not any(o.strip() for o in options):
            return None
        return PollDraft(
            options=[o for o in options if o.strip()], expires_in=int(data.get("poll_expires_in") or 86400),
            multiple=bool(data.get("poll_multiple")), hide_totals=bool(data.get("poll_hide_totals")),
        )


@dataclass
class Upload:
    file: UploadedFile
    description: str


MEDIA_SLOT = re.compile(r"^media_(\d{1,2})$")


def collect_uploads(request: HttpRequest) -> list[Upload]:
    """The images a compose form sent, each with its alt text, in slot order.

    Slots are ``media_<n>`` with ``alt_<n>``; a plain list under ``media`` (with ``alt``) works too.
    Every file sent is counted, so a fifth image is an error rather than silently dropped.
    """
    uploads: list[Upload] = []
    slots = sorted((int(m.group(1)), key) for key in request.FILES if (m := MEDIA_SLOT.match(key)))
    for n, key in slots:
        for f in request.FILES.getlist(key):
            uploads.append(Upload(f, request.POST.get(f"alt_{n}", "")))
    alts = request.POST.getlist("alt")
    for i, f in enumerate(request.FILES.getlist("media")):
        uploads.append(Upload(f, alts[i] if i < len(alts) else ""))
    return [u for u in uploads if u.file.name]


class EditForm(forms.Form):
    text = forms.CharField(label="Post", required=False, strip=False, widget=forms.Textarea(attrs={"rows": 5}))
    spoiler_text = forms.CharField(label="Content warning", required=False, max_length=2000)
    sensitive = forms.BooleanField(label="Mark images as sensitive", required=False)


class ProfileForm(forms.Form):
    display_name = forms.CharField(label="Display name", required=False, max_length=200)
    note = forms.CharField(label="Bio", required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 4}))
    avatar = forms.FileField(label="Avatar", required=False, help_text="PNG, JPEG, WebP or GIF; shown as a circle.")
    remove_avatar = forms.BooleanField(label="Remove the avatar", required=False)
    header = forms.FileField(label="Header image", required=False, help_text="Shown across the top of your profile, 3:1.")
    remove_header = forms.BooleanField(label="Remove the header", required=False)
    locked = forms.BooleanField(label="Approve followers by hand", required=False, help_text="People ask to follow you; you accept or reject each request.")
    discoverable = forms.BooleanField(label="Suggest my account to others", required=False)
    bot = forms.BooleanField(label="This is an automated account", required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for i in range(MAX_FIELDS):
            self.fields[f"field_{i}_name"] = forms.CharField(label=f"Label {i + 1}", required=False, max_length=500)
            self.fields[f"field_{i}_value"] = forms.CharField(label=f"Content {i + 1}", required=False, max_length=2000)

    def profile_fields(self) -> list[tuple[str, str]]:
        return [(self.cleaned_data.get(f"field_{i}_name", ""), self.cleaned_data.get(f"field_{i}_value", "")) for i in range(MAX_FIELDS)]

    def field_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"field_{i}_name"], self[f"field_{i}_value"]) for i in range(MAX_FIELDS)]


class PasswordForm(forms.Form):
    old_password = forms.CharField(label="Current password", strip=False, max_length=1000, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    new_password = forms.CharField(label="New password", strip=False, max_length=1000, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}), help_text="At least 10 characters; not a common password.")


class PreferencesForm(forms.Form):
    default_visibility = forms.ChoiceField(label="Default audience for new posts", choices=VISIBILITY_CHOICES, help_text=VISIBILITY_HELP)
    default_sensitive = forms.BooleanField(label="Always mark my images as sensitive", required=False)
    default_language = forms.ChoiceField(
        label="Default language of new posts",
        choices=[("", "None (not said)"), *sorted(LANGUAGES.items(), key=lambda item: item[1])],
        required=False,
        help_text="Apps that let you choose a post's language start from this one.",
    )


class DeleteAccountForm(forms.Form):
    password = forms.CharField(label="Your password", strip=False, max_length=1000, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class SearchForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=200, widget=forms.SearchInput(attrs={"placeholder": "Search people, #tags and posts"}))


__all__ = ["MAX_MEDIA", "ComposeForm", "DeleteAccountForm", "EditForm", "LoginForm", "PasswordForm", "PreferencesForm", "ProfileForm", "SearchForm", "SignupForm", "Upload", "collect_uploads"]
