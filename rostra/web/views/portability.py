"""Your data: the archive export (with its progress) and the CSV import, under settings.

Every page here belongs to the signed-in person only; another person's archive or import
answers like a missing one (404). Progress refreshes with htmx polling, and a plain "refresh"
link does the same without scripts.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from rostra.core.errors import Conflict, NotFound, RateLimited, ValidationError
from rostra.portability import actions as portability
from rostra.portability import formats, queries
from rostra.portability.models import ImportKind, ImportMode, JobState
from rostra.web.http import account_required, domain_errors, me

CSV_LINKS = [
    ("following_accounts", "People you follow"),
    ("blocked_accounts", "People you block"),
    ("muted_accounts", "People you mute"),
    ("lists", "Your lists"),
    ("bookmarks", "Your bookmarks"),
]


def _private(response: HttpResponse | StreamingHttpResponse | FileResponse) -> None:
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"


@require_http_methods(["GET", "POST"])
@domain_errors
@account_required
def export_page(request: HttpRequest) -> HttpResponse:
    account = me(request)
    status = 200
    if request.method == "POST":
        try:
            portability.request_export(account)
        except RateLimited as exc:
            messages.warning(request, exc.message)
            status = 429
        else:
            messages.success(request, "Your archive is being made. This page shows how far it has got.")
            return HttpResponseRedirect("/settings/export")
    ctx = {
        "exports": queries.exports_of(account),
        "next_export_at": queries.next_export_at(account),
        "csv_links": CSV_LINKS,
        "nav": "settings",
        "section": "export",
        "account": account,
    }
    response = render(request, "rostra/settings/export.html", ctx, status=status)
    if status == 429:
        response["Retry-After"] = "3600"
    return response


@require_GET
@domain_errors
@account_required
def export_status(request: HttpRequest, export_id: str) -> HttpResponse:
    """One archive's progress: the fragment the export page polls."""
    export = queries.get_export(me(request), export_id)
    response = render(request, "rostra/settings/export_progress.html", {"export": export})
    _private(response)
    return response


@require_GET
@domain_errors
@account_required  # type: ignore[arg-type]  # a streamed file is a response the wrappers pass through unchanged
def export_download(request: HttpRequest, export_id: str) -> FileResponse:
    account = me(request)
    export, path = queries.ready_archive(account, export_id)
    name = f"rostra-archive-{account.username}-{export.created_at:%Y%m%d}.zip"
    response = FileResponse(open(path, "rb"), as_attachment=True, filename=name, content_type="application/zip")  # noqa: SIM115 - FileResponse closes it
    _private(response)
    return response


@require_GET
@domain_errors
@account_required  # type: ignore[arg-type]  # as above: a streamed CSV
def export_csv(request: HttpRequest, kind: str) -> StreamingHttpResponse:
    if kind not in queries.CSV_KINDS:
        raise NotFound("No such file.")
    response = StreamingHttpResponse(queries.csv_document(me(request), kind), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{kind}.csv"'
    _private(response)
    return response


@require_http_methods(["GET", "POST"])
@domain_errors
@account_required
def import_page(request: HttpRequest) -> HttpResponse:
    account = me(request)
    status, error, lines = 200, "", []
    chosen = {"kind": request.POST.get("kind", ""), "mode": request.POST.get("mode", ImportMode.MERGE)}
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise ValidationError("Choose a CSV file to import.", field="file")
            if upload.size is not None and upload.size > formats.MAX_IMPORT_BYTES:
                raise ValidationError(
                    f"The file is too large: the limit is {formats.MAX_IMPORT_BYTES // 1024 // 1024} MB.", field="file"
                )
            job = portability.start_import(account, chosen["kind"], chosen["mode"], upload.read(), upload.name or "")
        except (ValidationError, Conflict) as exc:
            error = exc.message
            lines = exc.errors.get("lines", []) if isinstance(exc, ValidationError) else []
            status = 400 if isinstance(exc, ValidationError) else 409
        else:
            if job.state == JobState.READY:
                messages.success(request, "Your import is done; what happened to each row is below.")
            else:
                messages.success(request, "Your import is running. This page shows how far it has got.")
            return HttpResponseRedirect("/settings/import")
    ctx = {
        "imports": queries.imports_of(account),
        "kinds": ImportKind.choices,
        "modes": ImportMode.choices,
        "chosen": chosen,
        "error": error,
        "error_lines": lines,
        "max_rows": formats.MAX_IMPORT_ROWS,
        "nav": "settings",
        "section": "import",
        "account": account,
    }
    return render(request, "rostra/settings/import.html", ctx, status=status)


@require_GET
@domain_errors
@account_required
def import_status(request: HttpRequest, import_id: str) -> HttpResponse:
    job = queries.get_import(me(request), import_id)
    response = render(request, "rostra/settings/import_progress.html", {"job": job})
    _private(response)
    return response
