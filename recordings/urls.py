from django.urls import path

from recordings import views

urlpatterns = [
    path("", views.recording_list, name="recording_list"),
]
