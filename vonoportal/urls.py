from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponseRedirect
from django.templatetags.static import static
from django.urls import include, path

from accounts import views as account_views
from audit import views as audit_views
from health import views as health_views
from recordings.forms import ThrottledAuthenticationForm


def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """Browsers ask for /favicon.ico on pages without a <link rel=icon> (JSON, MP3)."""
    return HttpResponseRedirect(static("favicon.svg"))


urlpatterns = [
    path("favicon.ico", favicon, name="favicon"),
    path("", account_views.home, name="home"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            authentication_form=ThrottledAuthenticationForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", account_views.password_change, name="password_change"),
    path("access/", include("accounts.urls")),
    path("healthz", health_views.healthz, name="healthz"),
    path("recordings/", include("recordings.urls")),
    path("recordings/", include("audio.urls")),
    path("deletions/", include("deletions.urls")),
    path("index/", include("index.urls")),
    path("reports/", include("reports.urls")),
    path("privacy/", include("privacy.urls")),
    path("retention/", include("retention.urls")),
    path("qa/", include("qa.urls")),
    path("audit/", audit_views.audit_list, name="audit_list"),
    path("audit/export.csv", audit_views.audit_export, name="audit_export"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

handler400 = "recordings.views.bad_request"
handler403 = "recordings.views.permission_denied"
