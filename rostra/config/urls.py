from django.urls import include, path

urlpatterns = [
    path("", include("rostra.api.urls")),
    path("", include("rostra.federation.urls")),  # before the web's: /users/..., /inbox, /.well-known/webfinger
    path("", include("rostra.web.urls")),
]

# Faults raised inside middleware (a database outage during the rate limiter's token lookup) reach
# handler500: it answers them as FaultMiddleware does (503/507) and everything else as Django's 500.
handler500 = "rostra.web.middleware.server_error"
