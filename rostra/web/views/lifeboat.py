"""The lifeboat in the browser: restoring an account archive, and the old addresses of restored posts.

``/settings/import/archive`` restores an archive (made by the export page or ``rostra
export-account``) into the signed-in account, if it has not posted yet (or only restored
posts). ``/imported?uri=<old post URL>`` sends the old address of a restored post to the post
(301), through the visibility door; a moved account's old server points its post pages here.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from rostra.accounts.models import Account
from rostra.core import ratelimit
from rostra.core.errors import Conflict, ValidationError
from rostra.portability import archive, queries, restore
from rostra.web.cards import post_url
from rostra.web.http import account_required, domain_errors, me, viewer


@require_http_methods(["GET", "POST"])
@domain_errors
@account_required
def restore_page(request: HttpRequest) -> HttpResponse:
    account = me(request)
    status, error, lines, report = 200, "", [], None  # type: tuple[int, str, list[str], restore.RestoreReport | None]
    if request.method == "POST":
        upload = request.FILES.get("archive")
        try:
            if upload is None:
                raise ValidationError("Choose the account archive (a .zip file) to restore.", field="archive")
            if upload.size is not None and upload.size > archive.MAX_ARCHIVE_BYTES:
                raise ValidationError(f"The file is too large: the limit is {archive.MAX_ARCHIVE_BYTES // 1024**3} GB.", field="archive")
            if restore.own_posts_not_imported(account):
                raise Conflict("Your account already has posts of its own. Restore an archive into a new account (sign up for one), or one that has not posted yet.")
            verdict = ratelimit.limiter().hit(ratelimit.rules()["restore"], str(account.pk))
            if not verdict.allowed:
                raise Conflict("You can restore an archive three times a day. Please try again tomorrow.")
            report = _restore_upload(account, upload)
        except (ValidationError, Conflict) as exc:
            error = exc.message
            lines = exc.errors.get("lines", []) if isinstance(exc, ValidationError) else []
            status = 400 if isinstance(exc, ValidationError) else 409
    ctx = {"error": error, "error_lines": lines, "report": report, "nav": "settings", "section": "import", "account": account}
    return render(request, "rostra/settings/restore.html", ctx, status=status)


def _restore_upload(account: Account, upload: UploadedFile) -> restore.RestoreReport:
    # The upload is copied to a private file first: a ZIP is read by seeking, and the archive checks read it twice.
    folder = Path(settings.ROSTRA.data_dir) / "restores"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{secrets.token_hex(16)}.zip"
    try:
        with open(path, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        return restore.restore_account(account, path)
    finally:
        path.unlink(missing_ok=True)


@require_GET
@domain_errors
def imported(request: HttpRequest) -> HttpResponse:
    """``/imported?uri=<old URL>`` → 302 to the restored post; 404 if unknown or not visible. Not a
    permanent redirect: what a viewer may see can change, and browsers keep 301s."""
    post = queries.imported_post(viewer(request), request.GET.get("uri", ""))
    return HttpResponseRedirect(post_url(post))
