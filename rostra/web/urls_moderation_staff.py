"""URLs for trust and safety (moderation staff). Included from rostra/web/urls.py.

Every one of these answers 404 to anyone who is not a moderator (``views.moderation.staff_only``).
"""

from django.urls import path

from rostra.web.views import moderation

urlpatterns = [
    path("moderation", moderation.queue, name="mod_queue"),
    path("moderation/bulk", moderation.bulk, name="mod_bulk"),
    path("moderation/cases/<str:case_id>", moderation.case_page, name="mod_case"),
    path("moderation/cases/<str:case_id>/claim", moderation.claim, name="mod_claim"),
    path("moderation/cases/<str:case_id>/release", moderation.release, name="mod_release"),
    path("moderation/cases/<str:case_id>/decide", moderation.decide, name="mod_decide"),
    path("moderation/posts/<str:post_id>/act", moderation.act_on_post, name="mod_act_on_post"),
    path("moderation/accounts/<str:account_id>", moderation.account_page, name="mod_account"),
    path("moderation/accounts/<str:account_id>/act", moderation.act_on_account, name="mod_act_on_account"),
    path("moderation/appeals", moderation.appeals, name="mod_appeals"),
    path("moderation/appeals/<str:appeal_id>", moderation.appeal_page, name="mod_appeal"),
    path("moderation/appeals/<str:appeal_id>/message", moderation.appeal_message, name="mod_appeal_message"),
    path("moderation/appeals/<str:appeal_id>/decide", moderation.decide_appeal, name="mod_appeal_decide"),
    path("moderation/appeals/<str:appeal_id>/jury", moderation.send_to_jury, name="mod_appeal_jury"),
    path("moderation/audit", moderation.audit, name="mod_audit"),
]
