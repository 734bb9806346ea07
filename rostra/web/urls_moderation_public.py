"""URLs for trust and safety's public face (the guidelines, the transparency report) and the admins'
policy and role tools. Included from rostra/web/urls.py."""

from django.urls import path

from rostra.web.views import transparency

urlpatterns = [
    # Public, no login
    path("about/rules", transparency.rules, name="moderation_rules"),
    path("about/transparency", transparency.transparency_page, name="moderation_transparency"),
    path("about/transparency.json", transparency.transparency_json, name="moderation_transparency_json"),
    # Admins only (404 for everyone else)
    path("admin/policy", transparency.policy_editor, name="moderation_policy"),
    path("admin/policy/versions", transparency.policy_versions, name="moderation_policy_versions"),
    path("admin/policy/versions/<int:version>", transparency.policy_version, name="moderation_policy_version"),
    path("admin/roles", transparency.roles_page, name="moderation_roles"),
]
