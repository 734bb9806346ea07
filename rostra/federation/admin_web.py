"""The instance policy's web pages: ``/admin/domains`` for admins (list, add, change, lift blocks;
the allow-list; CSV import and export) and ``/about/domain_blocks`` for everyone (moderated servers
with the public reason, obfuscated where asked).

They live with federation because the web package never imports it; they use the web's layout,
templates and helpers, and the policy's actions (so every write is audited). Admins only, as the
policy editor: anyone else gets the ordinary 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rostra.core.errors import DomainError, ValidationError
from rostra.federation import policy
from rostra.federation.models import Severity
from rostra.moderation import policies
from rostra.web.http import not_found

MAX_CSV_BYTES = 1_000_000
PAGE = "/admin/domains"


def _page(
    request: HttpRequest,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, list[str]] | None = None,
    import_errors: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "rostra/moderation/policy_domains.html",
        {
            "nav": "policy",
            "section": "domains",
            "blocks": policy.blocks(),
            "allows": policy.allows(),
            "mode": policy.mode(),
            "severities": Severity.choices,
            "form": form or {"severity": Severity.SILENCE},
            "errors": errors or {},
            "general_errors": (errors or {}).get("__all__", []),
            "import_errors": import_errors or [],
            "failed": status == 400,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
def domains(request: HttpRequest) -> HttpResponse:
    """GET: the blocks and the allow-list. POST: add a block, or change one (the same domain)."""
    if not policies.is_admin(request.user):
        return not_found(request)
    if request.method == "GET":
        return _page(request)
    data = request.POST
    form: dict[str, Any] = {k: data.get(k, "") for k in ("domain", "severity", "private_comment", "public_comment")}
    form.update({k: data.get(k) == "on" for k in ("reject_media", "reject_reports", "obfuscate")})
    try:
        spec = policy.check_block(
            str(form["domain"]),
            severity=str(form["severity"]),
            reject_media=bool(form["reject_media"]),
            reject_reports=bool(form["reject_reports"]),
            private_comment=str(form["private_comment"]),
            public_comment=str(form["public_comment"]),
            obfuscate=bool(form["obfuscate"]),
        )
        block = policy.block_domain(request.user, spec)
    except ValidationError as exc:
        return _page(request, form=form, errors=dict(exc.errors), status=400)
    messages.success(request, f"{block.domain} is now blocked ({block.get_severity_display().split(':')[0].lower()}).")
    return HttpResponseRedirect(PAGE)


@require_POST
def unblock(request: HttpRequest) -> HttpResponse:
    if not policies.is_admin(request.user):
        return not_found(request)
    try:
        policy.unblock_domain(request.user, request.POST.get("domain", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"The block on {policy.normalize_domain(request.POST.get('domain', ''))} is lifted.")
    return HttpResponseRedirect(PAGE)


@require_POST
def allow(request: HttpRequest) -> HttpResponse:
    if not policies.is_admin(request.user):
        return not_found(request)
    remove = request.POST.get("action") == "remove"
    try:
        if remove:
            policy.disallow_domain(request.user, request.POST.get("domain", ""))
        else:
            policy.allow_domain(request.user, request.POST.get("domain", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        name = policy.normalize_domain(request.POST.get("domain", ""))
        messages.success(request, f"{name} {'is off' if remove else 'is on'} the allow-list.")
    return HttpResponseRedirect(PAGE)


@require_POST
def import_csv(request: HttpRequest) -> HttpResponse:
    """A CSV file (or pasted text) in Mastodon's format: every row checked, all or nothing."""
    if not policies.is_admin(request.user):
        return not_found(request)
    upload = request.FILES.get("file")
    if upload is not None:
        if upload.size is not None and upload.size > MAX_CSV_BYTES:
            return _page(request, import_errors=[f"The file is larger than {MAX_CSV_BYTES} bytes."], status=400)
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            return _page(request, import_errors=["The file is not UTF-8 text."], status=400)
    else:
        text = request.POST.get("csv", "")
    try:
        done = policy.import_csv(request.user, text)
    except ValidationError as exc:
        return _page(request, import_errors=exc.errors.get("rows") or [exc.message], status=400)
    messages.success(request, f"Imported {len(done)} domain block(s).")
    return HttpResponseRedirect(PAGE)


@require_GET
def export_csv(request: HttpRequest) -> HttpResponse:
    if not policies.is_admin(request.user):
        return not_found(request)
    response = HttpResponse(policy.export_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="domain_blocks.csv"'
    return response


@require_GET
def public_list(request: HttpRequest) -> HttpResponse:
    """Moderated servers, for everyone: the domain (starred where asked), what applies and why."""
    return render(request, "rostra/moderation/public_domain_blocks.html", {"nav": "about", "blocks": policy.public_blocks()})
