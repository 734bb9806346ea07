"""Client applications: POST /api/v1/apps, GET /api/v1/apps/verify_credentials."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from rostra.api import entities, oauth, schemas
from rostra.api.http import ApiError, Scoped, body_params, form_body_openapi, token_of

router = Router(tags=["apps"])


@router.post(
    "/v1/apps",
    response=schemas.CredentialApplication,
    auth=None,
    summary="Register a client application",
    openapi_extra=form_body_openapi(schemas.AppIn),
)
def create_app(request: HttpRequest) -> dict[str, Any]:
    # Parse
    params = body_params(request)
    uris = params.get("redirect_uris") or ""
    if isinstance(uris, list):
        uris = "\n".join(str(u) for u in uris)
    scopes = params.get("scopes")
    if isinstance(scopes, list):
        scopes = " ".join(str(s) for s in scopes)
    # Act
    try:
        registered = oauth.register_app(str(params.get("client_name") or ""), str(uris), scopes, str(params.get("website") or ""))
    except oauth.OAuthError as exc:
        raise ApiError(422, f"Validation failed: {exc.description}") from None
    # Render: the only time the secret is shown
    return entities.application(registered.application, client_secret=registered.client_secret)


@router.get(
    "/v1/apps/verify_credentials",
    response=schemas.Application,
    auth=Scoped(user=False),
    summary="The application behind the token",
)
def verify_app(request: HttpRequest) -> dict[str, Any]:
    return entities.application(token_of(request).application)
