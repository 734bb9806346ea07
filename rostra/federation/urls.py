"""Federation's URLs: included before the web's, whose ``/@user`` pages answer servers through
``rostra.federation.middleware`` (content negotiation)."""

from django.urls import path, re_path

from rostra.federation import admin_web, views

USER = r"(?P<username>[A-Za-z0-9_]{1,30})"

urlpatterns = [
    path(".well-known/webfinger", views.webfinger, name="webfinger"),
    path(".well-known/host-meta", views.host_meta, name="host_meta"),
    path("inbox", views.shared_inbox, name="shared_inbox"),
    path("admin/domains", admin_web.domains, name="admin_domains"),
    path("admin/domains/unblock", admin_web.unblock, name="admin_domains_unblock"),
    path("admin/domains/allow", admin_web.allow, name="admin_domains_allow"),
    path("admin/domains/import", admin_web.import_csv, name="admin_domains_import"),
    path("admin/domains/export.csv", admin_web.export_csv, name="admin_domains_export"),
    path("about/domain_blocks", admin_web.public_list, name="about_domain_blocks"),
    path("actor", views.instance_actor, name="instance_actor"),
    path("actor/outbox", views.instance_actor_outbox, name="instance_actor_outbox"),
    re_path(rf"^users/{USER}$", views.actor, name="actor"),
    re_path(rf"^users/{USER}/inbox$", views.user_inbox, name="actor_inbox"),
    re_path(rf"^users/{USER}/outbox$", views.outbox, name="actor_outbox"),
    re_path(rf"^users/{USER}/followers$", views.followers, name="actor_followers"),
    re_path(rf"^users/{USER}/following$", views.following, name="actor_following"),
    re_path(rf"^users/{USER}/collections/featured$", views.featured, name="actor_featured"),
    re_path(rf"^users/{USER}/statuses/(?P<post_id>[0-9]{{1,19}})$", views.note, name="actor_note"),
]
