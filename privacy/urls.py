from django.urls import path

from privacy import views

urlpatterns = [
    path("", views.privacy_report, name="privacy_report"),
    path("report.csv", views.privacy_report_csv, name="privacy_report_csv"),
]
