from django.urls import path

from reports import views

urlpatterns = [
    path("", views.report_charts, name="report_charts"),
    path("data.csv", views.report_csv, name="report_csv"),
]
