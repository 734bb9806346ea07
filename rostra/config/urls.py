from django.urls import include, path

urlpatterns = [
    path("", include("rostra.api.urls")),
    path("", include("rostra.web.urls")),
]
