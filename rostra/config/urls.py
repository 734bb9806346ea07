from django.urls import include, path

urlpatterns = [
    path("", include("rostra.web.urls")),
]
