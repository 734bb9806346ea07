"""URLs for trust and safety as members see it: reporting, notices and appeals, jury service.
Included from rostra/web/urls.py."""

from django.urls import path

from rostra.web.views import safety

urlpatterns = [
    path("report", safety.report, name="report"),
    path("report/sent/<str:report_id>", safety.report_sent, name="report_sent"),
    path("notices", safety.notices, name="notices"),
    path("notices/post/<str:post_id>", safety.notice_for_post, name="notice_for_post"),
    path("notices/<str:action_id>", safety.notice, name="notice"),
    path("notices/<str:action_id>/appeal", safety.appeal, name="notice_appeal"),
    path("notices/<str:action_id>/messages", safety.appeal_message, name="notice_message"),
    path("jury", safety.juries, name="juries"),
    path("jury/<str:jury_id>", safety.jury, name="jury"),
    path("jury/<str:jury_id>/vote", safety.vote, name="jury_vote"),
    path("jury/<str:jury_id>/recuse", safety.recuse, name="jury_recuse"),
]
