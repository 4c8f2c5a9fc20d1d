from django.urls import path

from qa import views

urlpatterns = [
    path("queue/", views.my_queue, name="qa_queue"),
    path("queues/new", views.queue_new, name="qa_queue_new"),
    path("forms/", views.form_list, name="qa_forms"),
    path("forms/new", views.form_new, name="qa_form_new"),
    path("forms/<int:pk>/", views.form_detail, name="qa_form_detail"),
    path("forms/<int:pk>/publish", views.form_publish, name="qa_form_publish"),
    path("reports/", views.reports, name="qa_reports"),
    path("reports.csv", views.reports_csv, name="qa_reports_csv"),
]
