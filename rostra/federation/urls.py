"""Federation's URLs: included before the web's, whose ``/@user`` pages answer servers through
``rostra.federation.middleware`` (content negotiation)."""

from django.urls import path, re_path

from rostra.federation import views

USER = r"(?P<username>[A-Za-z0-9_]{1,30})"

urlpatterns = [
    path(".well-known/webfinger", views.webfinger, name="webfinger"),
    path(".well-known/host-meta", views.host_meta, name="host_meta"),
    path("inbox", views.shared_inbox, name="shared_inbox"),
    re_path(rf"^users/{USER}$", views.actor, name="actor"),
    re_path(rf"^users/{USER}/inbox$", views.user_inbox, name="actor_inbox"),
    re_path(rf"^users/{USER}/outbox$", views.outbox, name="actor_outbox"),
    re_path(rf"^users/{USER}/followers$", views.followers, name="actor_followers"),
    re_path(rf"^users/{USER}/following$", views.following, name="actor_following"),
    re_path(rf"^users/{USER}/collections/featured$", views.featured, name="actor_featured"),
    re_path(rf"^users/{USER}/statuses/(?P<post_id>[0-9]{{1,19}})$", views.note, name="actor_note"),
]
