from django.urls import path

from deletions import views as deletion_views

urlpatterns = [
    path("", deletion_views.deletion_list, name="deletion_list"),
    path("new", deletion_views.deletion_new, name="deletion_new"),
    path("<int:pk>/", deletion_views.deletion_detail, name="deletion_detail"),
    path("<int:pk>/approve", deletion_views.deletion_approve, name="deletion_approve"),
    path("<int:pk>/reject", deletion_views.deletion_reject, name="deletion_reject"),
    path("<int:pk>/cancel", deletion_views.deletion_cancel, name="deletion_cancel"),
    path("<int:pk>/retry", deletion_views.deletion_retry, name="deletion_retry"),
]
