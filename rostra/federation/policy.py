"""Instance policy: which remote domains this instance federates with, and how (Mastodon's model).

A ``DomainBlock`` covers the domain and every subdomain (a block of ``example.com`` covers
``media.example.com``); when several blocks match a host, the most specific one decides. Its
severity:

* ``suspend``: nothing is exchanged. The inbox refuses the domain's activities (403, before the
  signature is checked, so no key is fetched from it), nothing is delivered or fetched there, its
  signed GETs are refused, follows both ways are severed, and its known accounts are marked
  suspended (``suspended_at`` = the block's ``created_at``, as Mastodon does), which hides them and
  their posts everywhere through the visibility door. Lifting the block unmarks exactly those.
* ``silence``: the domain's posts leave the public and hashtag timelines of people who do not
  follow the author, and follows from its accounts become follow requests.
* ``noop``: only ``reject_media`` / ``reject_reports``.

Allow-list mode (``ROSTRA_FEDERATION_MODE=allowlist``): only domains with a ``DomainAllow`` (and
their subdomains) federate, in and out; every other domain is treated as suspended for traffic.

Every write here is recorded in the moderation audit log. Predicates take a domain or host as
found on the wire (``host[:port]``, any case, unicode or punycode).
"""

from __future__ import annotations

import csv
import io
import ipaddress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import idna
from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet

from rostra.accounts import actions as accounts
from rostra.accounts.models import Account, Follow, FollowRequest
from rostra.core import clock
from rostra.core.errors import NotFound, ValidationError
from rostra.federation import uris
from rostra.federation.models import Delivery, DeliveryState, DomainAllow, DomainBlock, InboundFollow, Severity
from rostra.moderation import audit

MODES = ("open", "allowlist")
SEVERITIES = tuple(Severity.values)
MAX_COMMENT = 1000
CSV_HEADER = ["#domain", "#severity", "#reject_media", "#reject_reports", "#public_comment", "#obfuscate"]


# --- Normalisation (C7) ----------------------------------------------------------------------------


def normalize_domain(raw: str) -> str:
    """The one spelling of a domain: trimmed, lower case, no trailing dot, no port, no leading
    ``*.``, IDNA as punycode (``bücher.example`` and ``xn--bcher-kva.example`` are the same).
    Raises ValidationError saying what is wrong."""
    value = (raw or "").strip()
    if not value:
        raise ValidationError("Enter a domain, e.g. example.com.", field="domain")
    if "://" in value or "/" in value or "@" in value or any(c.isspace() for c in value):
        raise ValidationError(f"{value[:100]!r} is not a domain: give the host name only, e.g. example.com.", field="domain")
    if value.startswith("[") and "]" in value:  # [IPv6]:port
        try:
            return f"[{ipaddress.IPv6Address(value[1 : value.index(']')])}]"
        except ValueError:
            raise ValidationError(f"{value[:100]!r} is not a valid IPv6 address.", field="domain") from None
    host, sep, port = value.rpartition(":") if value.count(":") == 1 else (value, "", "")
    if sep and not port.isdigit():
        raise ValidationError(f"{value[:100]!r}: the port must be a number.", field="domain")
    host = host.rstrip(".").lower()
    if host.startswith("*."):
        host = host[2:]
    if not host:
        raise ValidationError(f"{value[:100]!r} has no host name.", field="domain")
    try:
        return str(ipaddress.IPv4Address(host))
    except ValueError:
        pass
    try:
        ascii_host = idna.encode(host, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        raise ValidationError(f"{value[:100]!r} is not a valid domain name.", field="domain") from None
    if len(ascii_host) > 253 or any(not 1 <= len(label) <= 63 for label in ascii_host.split(".")):
        raise ValidationError(f"{value[:100]!r} is not a valid domain name (labels of 1 to 63 characters).", field="domain")
    return ascii_host


def domain_of(url: str) -> str:
    """The normalised domain of a URL (or host[:port]); the host as written when it is no domain."""
    try:
        host = urlsplit(url).netloc if "//" in url else url
        return normalize_domain(host.rsplit("@", 1)[-1])
    except (ValueError, ValidationError):
        return url.lower()


def _candidates(host: str) -> list[str]:
    """The domain and every parent of it, most specific first; [] when it cannot be a domain."""
    try:
        domain = normalize_domain(host)
    except ValidationError:
        return []
    if domain.startswith("[") or _is_ip(domain):
        return [domain]
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


def _is_ip(domain: str) -> bool:
    try:
        ipaddress.ip_address(domain)
    except ValueError:
        return False
    return True


def _covering(domain: str) -> Q:
    """Accounts (or rows with a ``domain`` field) of ``domain`` and its subdomains, any port."""
    return (
        Q(domain=domain)
        | Q(domain__startswith=f"{domain}:")
        | Q(domain__endswith=f".{domain}")
        | Q(domain__contains=f".{domain}:")
    )


# --- Predicates: what other modules ask -----------------------------------------------------------


def mode() -> str:
    return str(getattr(settings, "FEDERATION_MODE", "open"))


def rule_for(domain: str) -> DomainBlock | None:
    """The block that applies to ``domain`` (the most specific match), or None."""
    candidates = _candidates(domain)
    if not candidates:
        return None
    rows = {b.domain: b for b in DomainBlock.objects.filter(domain__in=candidates)}
    return next((rows[c] for c in candidates if c in rows), None)


def is_allowed(domain: str) -> bool:
    """In allow-list mode: whether ``domain`` (or a parent) is allowed. Always True in open mode."""
    if mode() != "allowlist" or _is_local(domain):
        return True
    candidates = _candidates(domain)
    return bool(candidates) and DomainAllow.objects.filter(domain__in=candidates).exists()


def _is_local(domain: str) -> bool:
    return not domain or uris.is_local_host(domain.lower())


def is_suspended(domain: str) -> bool:
    """True when nothing is exchanged with ``domain``: a suspending block on it or a parent, or,
    in allow-list mode, a domain that is not allowed. The local domain never is."""
    if _is_local(domain):
        return False
    if not is_allowed(domain):
        return True
    rule = rule_for(domain)
    return rule is not None and rule.severity == Severity.SUSPEND


def is_silenced(domain: str) -> bool:
    rule = rule_for(domain) if not _is_local(domain) else None
    return rule is not None and rule.severity == Severity.SILENCE


def rejects_media(domain: str) -> bool:
    """True when media from ``domain`` must not be fetched or stored."""
    if is_suspended(domain):
        return True
    rule = rule_for(domain) if not _is_local(domain) else None
    return rule is not None and rule.reject_media


def rejects_reports(domain: str) -> bool:
    """True when reports (Flag activities) from ``domain`` are ignored."""
    if is_suspended(domain):
        return True
    rule = rule_for(domain) if not _is_local(domain) else None
    return rule is not None and rule.reject_reports


def refuses_fetch_from(domain: str) -> bool:
    """True when signed GETs from ``domain`` must be refused (a suspended or not-allowed domain)."""
    return is_suspended(domain)


def silenced_domains() -> list[str]:
    """Every silenced domain (the timelines hide their posts from non-followers)."""
    return list(DomainBlock.objects.filter(severity=Severity.SILENCE).values_list("domain", flat=True))


def silenced_filter(field: str = "author__domain") -> Q | None:
    """A Q matching rows whose ``field`` is a silenced domain or a subdomain of one; None if none."""
    q: Q | None = None
    for domain in silenced_domains():
        part = (
            Q(**{field: domain})
            | Q(**{f"{field}__startswith": f"{domain}:"})
            | Q(**{f"{field}__endswith": f".{domain}"})
            | Q(**{f"{field}__contains": f".{domain}:"})
        )
        q = part if q is None else q | part
    return q


# --- Reads for the admin surfaces -----------------------------------------------------------------


def blocks() -> list[DomainBlock]:
    return list(DomainBlock.objects.order_by("domain"))


def allows() -> list[DomainAllow]:
    return list(DomainAllow.objects.order_by("domain"))


def get_block(block_id: int) -> DomainBlock:
    block = DomainBlock.objects.filter(pk=block_id).first()
    if block is None:
        raise NotFound("No such domain block.")
    return block


def get_allow(allow_id: int) -> DomainAllow:
    allow = DomainAllow.objects.filter(pk=allow_id).first()
    if allow is None:
        raise NotFound("No such domain allow.")
    return allow


def obfuscated(domain: str) -> str:
    """Mastodon's obfuscation: the middle half of the name starred, dots kept (``exa****.*om``)."""
    edge = len(domain) // 4
    return "".join("*" if edge < i < len(domain) - edge and c != "." else c for i, c in enumerate(domain))


def public_blocks() -> list[dict[str, Any]]:
    """What the public sees (about page, ``GET /api/v1/instance/domain_blocks``)."""
    import hashlib

    return [
        {
            "domain": obfuscated(b.domain) if b.obfuscate else b.domain,
            "digest": hashlib.sha256(b.domain.encode()).hexdigest(),
            "severity": b.severity,
            "comment": b.public_comment or None,
        }
        for b in blocks()
        if b.severity != Severity.NOOP or b.reject_media  # Mastodon's "user-facing limitations"
    ]


# --- Writes ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BlockSpec:
    """A validated block, ready to apply."""

    domain: str
    severity: str = Severity.SILENCE
    reject_media: bool = False
    reject_reports: bool = False
    private_comment: str = ""
    public_comment: str = ""
    obfuscate: bool = False


def check_block(
    domain: str,
    *,
    severity: str = Severity.SILENCE,
    reject_media: bool = False,
    reject_reports: bool = False,
    private_comment: str = "",
    public_comment: str = "",
    obfuscate: bool = False,
) -> BlockSpec:
    """Validate a block's fields; ValidationError naming the field otherwise."""
    name = normalize_domain(domain)
    if _is_local(name):
        raise ValidationError("This instance's own domain cannot be blocked.", field="domain")
    if severity not in SEVERITIES:
        raise ValidationError(
            f"The severity must be one of {', '.join(SEVERITIES)}, not {str(severity)[:30]!r}.", field="severity"
        )
    for field, text in (("private_comment", private_comment), ("public_comment", public_comment)):
        if len(text or "") > MAX_COMMENT:
            raise ValidationError(f"The {field.replace('_', ' ')} is limited to {MAX_COMMENT} characters.", field=field)
    return BlockSpec(
        name,
        severity,
        bool(reject_media),
        bool(reject_reports),
        (private_comment or "").strip(),
        (public_comment or "").strip(),
        bool(obfuscate),
    )


def _account_of(user: Any | None) -> Account | None:
    return getattr(user, "account", None) if user is not None else None


def block_domain(user: Any | None, spec: BlockSpec) -> DomainBlock:
    """Create or update the block on ``spec.domain`` and apply what its severity means."""
    now = clock.now()
    with transaction.atomic():
        block = DomainBlock.objects.select_for_update().filter(domain=spec.domain).first()
        before = block.severity if block is not None else None
        if block is None:
            block = DomainBlock(domain=spec.domain, created_by=_account_of(user), created_at=now)
        for field in ("severity", "reject_media", "reject_reports", "private_comment", "public_comment", "obfuscate"):
            setattr(block, field, getattr(spec, field))
        block.updated_at = now
        block.save()
        if before == Severity.SUSPEND and block.severity != Severity.SUSPEND:
            _lift_suspension(block)
        if block.severity == Severity.SUSPEND and before != Severity.SUSPEND:
            _apply_suspension(block)
        audit.record(
            user,
            "domain.blocked" if before is None else "domain.block_updated",
            target_type="domain_block",
            target_id=block.pk,
            reason=spec.private_comment,
            detail={
                "domain": block.domain,
                "severity": block.severity,
                "before": before,
                "reject_media": block.reject_media,
                "reject_reports": block.reject_reports,
            },
        )
    return block


def unblock_domain(user: Any | None, domain: str) -> None:
    name = normalize_domain(domain)
    with transaction.atomic():
        block = DomainBlock.objects.select_for_update().filter(domain=name).first()
        if block is None:
            raise NotFound(f"{name} is not blocked.")
        if block.severity == Severity.SUSPEND:
            _lift_suspension(block)
        audit.record(
            user,
            "domain.unblocked",
            target_type="domain_block",
            target_id=block.pk,
            detail={"domain": block.domain, "severity": block.severity},
        )
        block.delete()


def allow_domain(user: Any | None, domain: str) -> DomainAllow:
    name = normalize_domain(domain)
    if _is_local(name):
        raise ValidationError("This instance's own domain is always allowed.", field="domain")
    with transaction.atomic():
        allow, created = DomainAllow.objects.get_or_create(
            domain=name, defaults={"created_by": _account_of(user), "created_at": clock.now()}
        )
        if created:
            audit.record(user, "domain.allowed", target_type="domain_allow", target_id=allow.pk, detail={"domain": name})
    return allow


def disallow_domain(user: Any | None, domain: str) -> None:
    name = normalize_domain(domain)
    with transaction.atomic():
        allow = DomainAllow.objects.filter(domain=name).first()
        if allow is None:
            raise NotFound(f"{name} is not on the allow-list.")
        audit.record(user, "domain.disallowed", target_type="domain_allow", target_id=allow.pk, detail={"domain": name})
        allow.delete()


def _domain_accounts(domain: str) -> QuerySet[Account]:
    return Account.objects.filter(_covering(domain)).exclude(domain="")


def _apply_suspension(block: DomainBlock) -> None:
    """Sever follows both ways, drop follow requests, stop deliveries, mark the accounts suspended."""
    remote = list(_domain_accounts(block.domain).values_list("pk", flat=True))
    for follow in Follow.objects.filter(Q(follower_id__in=remote) | Q(target_id__in=remote)).select_related("follower", "target"):
        if follow.follower_id in remote:
            accounts.remove_follower(follow.target, follow.follower)
        else:
            accounts.unfollow(follow.follower, follow.target)
    FollowRequest.objects.filter(Q(requester_id__in=remote) | Q(target_id__in=remote)).delete()
    InboundFollow.objects.filter(follower_id__in=remote).delete()
    Account.objects.filter(pk__in=remote, suspended_at__isnull=True).update(suspended_at=block.created_at)
    Delivery.objects.filter(_covering(block.domain), state=DeliveryState.PENDING).update(
        state=DeliveryState.FAILED, last_error="The domain is suspended here.", finished_at=clock.now()
    )


def _lift_suspension(block: DomainBlock) -> None:
    """Unmark the accounts this block marked (not those a moderator suspended on their own)."""
    Account.objects.filter(_covering(block.domain), suspended_at=block.created_at, suspended_until__isnull=True).exclude(
        domain=""
    ).update(suspended_at=None)


# --- CSV (Mastodon's export format) ----------------------------------------------------------------


def export_csv() -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for b in blocks():
        writer.writerow(
            [b.domain, b.severity, _flag(b.reject_media), _flag(b.reject_reports), b.public_comment, _flag(b.obfuscate)]
        )
    return out.getvalue()


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _parse_flag(value: str, column: str) -> bool:
    v = (value or "").strip().lower()
    if v in ("", "false", "0", "no"):
        return False
    if v in ("true", "1", "yes"):
        return True
    raise ValidationError(f"{column} must be true or false, not {value[:30]!r}")


def parse_csv(text: str) -> list[BlockSpec]:
    """Every row checked before anything is applied; ValidationError listing the bad rows by number
    (row 1 is the header). Accepts Mastodon's header (``#domain,#severity,...``) or bare domains."""
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise ValidationError("The file is empty.")
    header = [h.strip().lower() for h in rows[0]]
    if header and header[0] in ("#domain", "domain"):
        columns = [h.lstrip("#") for h in header]
        body = list(enumerate(rows[1:], start=2))
    else:
        columns = ["domain"]
        body = list(enumerate(rows, start=1))
    if "domain" not in columns:
        raise ValidationError("The header needs a #domain column.")
    specs: list[BlockSpec] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    for number, row in body:
        if not any(cell.strip() for cell in row):
            continue
        fields = {columns[i]: cell for i, cell in enumerate(row) if i < len(columns)}
        try:
            severity = (fields.get("severity") or "suspend").strip().lower()
            spec = check_block(
                fields.get("domain", ""),
                severity=severity,
                reject_media=_parse_flag(fields.get("reject_media", ""), "reject_media"),
                reject_reports=_parse_flag(fields.get("reject_reports", ""), "reject_reports"),
                public_comment=fields.get("public_comment", ""),
                obfuscate=_parse_flag(fields.get("obfuscate", ""), "obfuscate"),
            )
        except ValidationError as exc:
            errors.append(f"row {number}: {exc.message}")
            continue
        if spec.domain in seen:
            errors.append(f"row {number}: {spec.domain} is already on row {seen[spec.domain]}.")
            continue
        seen[spec.domain] = number
        specs.append(spec)
    if errors:
        raise ValidationError("Nothing was imported. " + "; ".join(errors[:50]), errors={"rows": errors})
    return specs


def import_csv(user: Any | None, text: str) -> list[DomainBlock]:
    """Validate every row, then apply them all in one transaction (all or nothing)."""
    specs = parse_csv(text)
    with transaction.atomic():
        return [block_domain(user, spec) for spec in specs]
