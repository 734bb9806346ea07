"""OAuth 2 rows: registered client applications, authorization codes and access tokens.

No secret is stored in the clear: client secrets, codes and tokens are kept as SHA-256 hashes
(they are long random strings, so a plain hash is enough; a slow hash would only slow every
request). The clear value exists once, in the response that hands it out.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from rostra.core.models import OpaqueIdModel


class Application(OpaqueIdModel):
    name = models.CharField(max_length=200)
    website = models.CharField(max_length=2000, blank=True, default="")
    redirect_uris = models.TextField()  # newline separated, as registered
    scopes = models.CharField(max_length=1000, default="read")
    client_id = models.CharField(max_length=64, unique=True)  # public
    client_secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    @property
    def redirect_uri_list(self) -> list[str]:
        return [u for u in self.redirect_uris.split("\n") if u]

    def __str__(self) -> str:
        return self.name


class AuthorizationCode(OpaqueIdModel):
    code_hash = models.CharField(max_length=64, unique=True)
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="codes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    redirect_uri = models.CharField(max_length=2000)
    scopes = models.CharField(max_length=1000)
    code_challenge = models.CharField(max_length=128, blank=True, default="")
    code_challenge_method = models.CharField(max_length=8, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)


class AccessToken(OpaqueIdModel):
    token_hash = models.CharField(max_length=64, unique=True)
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="tokens")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    scopes = models.CharField(max_length=1000)
    code = models.ForeignKey(AuthorizationCode, null=True, blank=True, on_delete=models.SET_NULL, related_name="tokens")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())
