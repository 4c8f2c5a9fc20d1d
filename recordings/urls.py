from django.urls import path

from recordings import views

urlpatterns = [
    path("", views.recording_list, name="recording_list"),
    path("export.csv", views.recording_export, name="recording_export"),
    path("<int:record_id>/", views.recording_detail, name="recording_detail"),
]
