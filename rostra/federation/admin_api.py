"""The instance policy through the client API: Mastodon's ``/api/v1/admin/domain_blocks`` and
``/api/v1/admin/domain_allows``, and the public ``/api/v1/instance/domain_blocks``.

These endpoints live with federation (the client API never imports it) and are added to the API's
router when the federation app loads (``apps.py``). Admin endpoints need an ``admin:*`` scope
(``admin:read:domain_blocks`` ...) *and* a token whose person is an admin, as Mastodon's
``manage_federation`` permission; anyone else gets 403. Every write goes through
``rostra.federation.policy``, so each one is audited exactly as from the CLI and the web pages.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from rostra.accounts.models import User
from rostra.api import entities, schemas
from rostra.api.endpoints.instance_extra import DomainBlock as PublicDomainBlock
from rostra.api.http import ApiError, Scoped, body_params, parse_bool, token_of
from rostra.core.errors import ValidationError
from rostra.federation import policy
from rostra.federation.models import DomainAllow, DomainBlock
from rostra.moderation import policies

router = Router(tags=["admin"])

READ_BLOCKS = Scoped("admin:read", "admin:read:domain_blocks")
WRITE_BLOCKS = Scoped("admin:write", "admin:write:domain_blocks")
READ_ALLOWS = Scoped("admin:read", "admin:read:domain_allows")
WRITE_ALLOWS = Scoped("admin:write", "admin:write:domain_allows")
NOT_ALLOWED = "This action is not allowed"


class AdminDomainBlock(Schema):
    id: str
    domain: str
    digest: str
    created_at: str
    severity: str
    reject_media: bool
    reject_reports: bool
    private_comment: str | None
    public_comment: str | None
    obfuscate: bool


class AdminDomainAllow(Schema):
    id: str
    domain: str
    created_at: str


class DomainBlockIn(Schema):
    domain: str
    severity: str | None = None
    reject_media: bool | None = None
    reject_reports: bool | None = None
    private_comment: str | None = None
    public_comment: str | None = None
    obfuscate: bool | None = None


def admin_of(request: HttpRequest) -> User:
    """The token's person, if an admin; 403 otherwise (Mastodon's manage_federation)."""
    user = token_of(request).user
    if user is None or not policies.is_admin(user):
        raise ApiError(403, NOT_ALLOWED)
    return user


def _block(b: DomainBlock) -> dict[str, Any]:
    import hashlib

    return {
        "id": str(b.pk),
        "domain": b.domain,
        "digest": hashlib.sha256(b.domain.encode()).hexdigest(),
        "created_at": entities.timestamp(b.created_at),
        "severity": b.severity,
        "reject_media": b.reject_media,
        "reject_reports": b.reject_reports,
        "private_comment": b.private_comment or None,
        "public_comment": b.public_comment or None,
        "obfuscate": b.obfuscate,
    }


def _allow(a: DomainAllow) -> dict[str, Any]:
    return {"id": str(a.pk), "domain": a.domain, "created_at": entities.timestamp(a.created_at)}


def _id(value: str) -> int:
    if not value.isdigit() or len(value) > 19:
        raise ApiError(404, "Record not found")
    return int(value)


def _spec(data: dict[str, Any], current: DomainBlock | None) -> policy.BlockSpec:
    """The block the request asks for; fields it leaves out keep their values (or the defaults)."""

    def flag(name: str) -> bool:
        return bool(parse_bool(data.get(name), name, default=getattr(current, name) if current else False))

    def text(name: str) -> str:
        value = data.get(name)
        return str(value) if value is not None else (getattr(current, name) if current else "")

    domain = current.domain if current is not None else str(data.get("domain") or "")
    severity = str(data.get("severity") or (current.severity if current else "silence"))
    try:
        return policy.check_block(
            domain,
            severity=severity,
            reject_media=flag("reject_media"),
            reject_reports=flag("reject_reports"),
            private_comment=text("private_comment"),
            public_comment=text("public_comment"),
            obfuscate=flag("obfuscate"),
        )
    except ValidationError as exc:
        raise ApiError(422, f"Validation failed: {exc.message}") from None


# --- domain blocks --------------------------------------------------------------------------------


@router.get("/v1/admin/domain_blocks", response=list[AdminDomainBlock], auth=READ_BLOCKS, summary="Blocked domains")
def list_blocks(request: HttpRequest) -> list[dict[str, Any]]:
    admin_of(request)
    return [_block(b) for b in policy.blocks()]


@router.get("/v1/admin/domain_blocks/{block_id}", response=AdminDomainBlock, auth=READ_BLOCKS, summary="One domain block")
def get_block(request: HttpRequest, block_id: str) -> dict[str, Any]:
    admin_of(request)
    return _block(policy.get_block(_id(block_id)))


@router.post(
    "/v1/admin/domain_blocks",
    response=AdminDomainBlock,
    auth=WRITE_BLOCKS,
    summary="Block a domain (422 if it is already blocked: change that block with PUT)",
    openapi_extra={"requestBody": {"content": {"application/json": {"schema": DomainBlockIn.model_json_schema()}}}},
)
def create_block(request: HttpRequest) -> dict[str, Any]:
    user = admin_of(request)
    spec = _spec(body_params(request), None)
    existing = DomainBlock.objects.filter(domain=spec.domain).first()
    if existing is not None:
        raise ApiError(422, f"Validation failed: {spec.domain} is already blocked (id {existing.pk}); change that block with PUT")
    return _block(policy.block_domain(user, spec))


@router.put("/v1/admin/domain_blocks/{block_id}", response=AdminDomainBlock, auth=WRITE_BLOCKS, summary="Change a domain block")
def update_block(request: HttpRequest, block_id: str) -> dict[str, Any]:
    user = admin_of(request)
    current = policy.get_block(_id(block_id))
    return _block(policy.block_domain(user, _spec(body_params(request), current)))


@router.delete("/v1/admin/domain_blocks/{block_id}", response=schemas.Empty, auth=WRITE_BLOCKS, summary="Lift a domain block")
def delete_block(request: HttpRequest, block_id: str) -> dict[str, Any]:
    user = admin_of(request)
    policy.unblock_domain(user, policy.get_block(_id(block_id)).domain)
    return {}


# --- domain allows --------------------------------------------------------------------------------


@router.get(
    "/v1/admin/domain_allows", response=list[AdminDomainAllow], auth=READ_ALLOWS, summary="Allowed domains (allow-list mode)"
)
def list_allows(request: HttpRequest) -> list[dict[str, Any]]:
    admin_of(request)
    return [_allow(a) for a in policy.allows()]


@router.get("/v1/admin/domain_allows/{allow_id}", response=AdminDomainAllow, auth=READ_ALLOWS, summary="One allowed domain")
def get_allow(request: HttpRequest, allow_id: str) -> dict[str, Any]:
    admin_of(request)
    return _allow(policy.get_allow(_id(allow_id)))


@router.post("/v1/admin/domain_allows", response=AdminDomainAllow, auth=WRITE_ALLOWS, summary="Allow a domain")
def create_allow(request: HttpRequest) -> dict[str, Any]:
    user = admin_of(request)
    try:
        return _allow(policy.allow_domain(user, str(body_params(request).get("domain") or "")))
    except ValidationError as exc:
        raise ApiError(422, f"Validation failed: {exc.message}") from None


@router.delete(
    "/v1/admin/domain_allows/{allow_id}", response=schemas.Empty, auth=WRITE_ALLOWS, summary="Remove an allowed domain"
)
def delete_allow(request: HttpRequest, allow_id: str) -> dict[str, Any]:
    user = admin_of(request)
    policy.disallow_domain(user, policy.get_allow(_id(allow_id)).domain)
    return {}


# --- public ---------------------------------------------------------------------------------------


@router.get(
    "/v1/instance/domain_blocks",
    response=list[PublicDomainBlock],
    auth=None,
    summary="Moderated servers: blocks with user-facing limits (obfuscated where the admin asked)",
)
def public_blocks(request: HttpRequest) -> list[dict[str, Any]]:
    return policy.public_blocks()
