from django.urls import path

from audio import views

# Under /recordings/, beside the recording's own page: the URLs and names predate this app.
urlpatterns = [
    path("download.zip", views.recording_zip, name="recording_zip"),
    path("<int:record_id>/audio", views.recording_audio, name="recording_audio"),
    path("<int:record_id>/download", views.recording_download, name="recording_download"),
    path("<int:record_id>/peaks.json", views.recording_peaks, name="recording_peaks"),
]
