"""The web UI's URLs. Other surfaces and tests rely on these paths: keep them stable."""

from django.urls import include, path, re_path

from rostra.web.views import (
    account_security,
    auth,
    feeds,
    filters,
    interaction,
    lists,
    media,
    notifications,
    posts,
    profiles,
    pwa,
    security,
    timelines,
)
from rostra.web.views import lifeboat as lifeboat_views
from rostra.web.views import moving as moving_views
from rostra.web.views import portability as portability_views
from rostra.web.views import settings as settings_views
from rostra.web.views import surge as surge_views

LOCAL_USER = r"@(?P<username>[A-Za-z0-9_]{1,30})"
# A local account (@alice) or a remote one known here (@zoe@remote.example, @zoe@127.0.0.2:8080)
USER = r"@(?P<username>[A-Za-z0-9_]{1,30}(?:@[A-Za-z0-9.-]{1,253}(?::[0-9]{1,5})?)?)"
POST_ID = r"(?P<post_id>[0-9]{1,19})"

urlpatterns = [
    # Public pages and timelines
    path("", timelines.landing, name="landing"),
    path("home", timelines.home, name="home"),
    path("local", timelines.local, name="local"),
    path("tags/<str:tag>.rss", feeds.tag_feed, name="tag_feed"),  # before tags/<tag>, which would match it
    path("tags/<str:tag>", timelines.tag, name="tag"),
    path("tags/<str:tag>/follow", timelines.tag_follow, name="tag_follow"),
    path("tags/<str:tag>/unfollow", timelines.tag_unfollow, name="tag_unfollow"),
    path("search", timelines.search_page, name="search"),
    path("authorize_interaction", interaction.authorize_interaction, name="authorize_interaction"),
    path("bookmarks", timelines.bookmarks, name="bookmarks"),
    path("about", timelines.about, name="about"),
    path("offline", timelines.offline, name="offline"),
    # Signing up and in
    path("signup", auth.signup, name="signup"),
    path("signup/waitlist/<str:token>", surge_views.waitlist, name="signup_waitlist"),  # surge mode
    path("admin/surge", surge_views.admin, name="admin_surge"),
    path("login", auth.login_view, name="login"),
    path("login/2fa", security.login_two_factor, name="login_2fa"),
    path("logout", auth.logout_view, name="logout"),
    path("password-reset", account_security.password_reset_request, name="password_reset"),
    path("password-reset/sent", account_security.password_reset_sent, name="password_reset_sent"),
    path("password-reset/<str:uidb64>/<str:token>", account_security.password_reset_confirm, name="password_reset_confirm"),
    # Writing
    path("compose", posts.compose, name="compose"),
    path("posts/<str:post_id>/like", posts.like, name="like"),
    path("posts/<str:post_id>/vote", posts.vote, name="vote"),
    path("posts/<str:post_id>/unlike", posts.unlike, name="unlike"),
    path("posts/<str:post_id>/repost", posts.repost, name="repost"),
    path("posts/<str:post_id>/unrepost", posts.unrepost, name="unrepost"),
    path("posts/<str:post_id>/bookmark", posts.bookmark, name="bookmark"),
    path("posts/<str:post_id>/unbookmark", posts.unbookmark, name="unbookmark"),
    path("posts/<str:post_id>/delete", posts.delete, name="delete"),
    path("posts/<str:post_id>/edit", posts.edit, name="edit"),
    path("posts/<str:post_id>/detach-quote", posts.detach_quote, name="detach_quote"),
    # Notifications and requests
    path("notifications", notifications.notifications, name="notifications"),
    path("follow-requests", profiles.follow_requests, name="follow_requests"),
    path("follow-requests/<str:account_id>/accept", profiles.accept_request, name="accept_request"),
    path("follow-requests/<str:account_id>/reject", profiles.reject_request, name="reject_request"),
    path("lists", lists.index, name="lists"),
    path("lists/<str:list_id>", lists.detail, name="list"),
    path("lists/<str:list_id>/edit", lists.edit, name="list_edit"),
    path("lists/<str:list_id>/delete", lists.delete, name="list_delete"),
    path("lists/<str:list_id>/members", lists.members, name="list_members"),
    # Settings
    path("settings/profile", settings_views.profile, name="settings_profile"),
    path("settings/account", settings_views.account_settings, name="settings_account"),
    path("settings/delete", settings_views.delete_account, name="settings_delete"),
    path("settings/move", moving_views.move, name="settings_move"),
    path("settings/move/cancel", moving_views.cancel, name="settings_move_cancel"),
    path("settings/aliases", moving_views.add_alias, name="settings_alias_add"),
    path("settings/aliases/remove", moving_views.remove_alias, name="settings_alias_remove"),
    path("settings/security", security.security, name="settings_security"),
    path("settings/security/2fa/setup", security.two_factor_setup, name="two_factor_setup"),
    path("settings/security/2fa/confirm", security.two_factor_confirm, name="two_factor_confirm"),
    path("settings/security/2fa/cancel", security.two_factor_cancel, name="two_factor_cancel"),
    path("settings/security/2fa/disable", security.two_factor_disable, name="two_factor_disable"),
    path("settings/security/2fa/recovery-codes", security.recovery_codes, name="two_factor_recovery_codes"),
    path("settings/security/sessions/end-others", account_security.end_other_sessions, name="sessions_end_others"),
    path("settings/security/sessions/<str:session_id>/end", account_security.end_session, name="session_end"),
    path("settings/security/apps/<str:grant_id>/revoke", account_security.revoke_app, name="app_revoke"),
    path("settings/export", portability_views.export_page, name="settings_export"),
    path("settings/export/<slug:kind>.csv", portability_views.export_csv, name="settings_export_csv"),
    path("settings/export/<str:export_id>/status", portability_views.export_status, name="settings_export_status"),
    path("settings/export/<str:export_id>/download", portability_views.export_download, name="settings_export_download"),
    path("settings/import", portability_views.import_page, name="settings_import"),
    path("settings/import/archive", lifeboat_views.restore_page, name="settings_restore"),
    path("imported", lifeboat_views.imported, name="imported"),
    path("settings/import/<str:import_id>/status", portability_views.import_status, name="settings_import_status"),
    path("settings/filters", filters.index, name="settings_filters"),
    path("settings/filters/<str:filter_id>", filters.edit, name="settings_filter"),
    path("settings/filters/<str:filter_id>/delete", filters.delete, name="settings_filter_delete"),
    # Trust and safety: the moderators' tools, members' reports/notices/appeals/juries, public pages
    path("", include("rostra.web.urls_moderation_staff")),
    path("", include("rostra.web.urls_moderation_member")),
    path("", include("rostra.web.urls_moderation_public")),
    # Files and the installable app
    path("media/<str:file_name>", media.media, name="media"),
    path("manifest.webmanifest", pwa.manifest, name="manifest"),
    path("sw.js", pwa.service_worker, name="service_worker"),
    path("icons/icon-<int:size>.png", pwa.icon, name="icon"),
    path("icons/icon-maskable-<int:size>.png", pwa.maskable_icon, name="maskable_icon"),
    # RSS feeds (before the profiles: they start with @ too)
    re_path(rf"^{LOCAL_USER}\.rss$", feeds.profile_feed, name="profile_feed"),  # local accounts only
    # Profiles and threads (last: they match @anything)
    re_path(rf"^{USER}$", profiles.profile, name="profile"),
    re_path(rf"^{USER}/with_replies$", profiles.profile_with_replies, name="profile_with_replies"),
    re_path(rf"^{USER}/media$", profiles.profile_media, name="profile_media"),
    re_path(rf"^{USER}/followers$", profiles.followers, name="followers"),
    re_path(rf"^{USER}/following$", profiles.following, name="following"),
    re_path(rf"^{USER}/follow$", profiles.follow, name="follow"),
    re_path(rf"^{USER}/unfollow$", profiles.unfollow, name="unfollow"),
    re_path(rf"^{USER}/block$", profiles.block, name="block"),
    re_path(rf"^{USER}/unblock$", profiles.unblock, name="unblock"),
    re_path(rf"^{USER}/mute$", profiles.mute, name="mute"),
    re_path(rf"^{USER}/unmute$", profiles.unmute, name="unmute"),
    re_path(rf"^{USER}/remove-follower$", profiles.remove_follower, name="remove_follower"),
    re_path(rf"^{USER}/note$", profiles.note, name="account_note"),
    re_path(rf"^{USER}/{POST_ID}$", posts.thread_page, name="thread"),
    re_path(rf"^{USER}/{POST_ID}/history$", posts.history, name="history"),
]
