from django.urls import path

from qa import views as qa_views
from recordings import views

urlpatterns = [
    path("", views.recording_list, name="recording_list"),
    path("export.csv", views.recording_export, name="recording_export"),
    path("<int:record_id>/", views.recording_detail, name="recording_detail"),
    # Notes and the evaluation beside the player belong to the QA app.
    path("<int:record_id>/notes", qa_views.recording_notes, name="recording_notes"),
    path("<int:record_id>/notes/<int:note_id>", qa_views.recording_note, name="recording_note"),
    path("<int:record_id>/evaluation", qa_views.recording_evaluation, name="recording_evaluation"),
]
