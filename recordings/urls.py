from django.urls import path

from recordings import views

urlpatterns = [
    path("", views.recording_list, name="recording_list"),
    path("export.csv", views.recording_export, name="recording_export"),
    path("<int:record_id>/", views.recording_detail, name="recording_detail"),
    path("<int:record_id>/audio", views.recording_audio, name="recording_audio"),
    path("<int:record_id>/download", views.recording_download, name="recording_download"),
    path("<int:record_id>/peaks.json", views.recording_peaks, name="recording_peaks"),
]
