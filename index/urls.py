from django.urls import path

from index import views

urlpatterns = [
    path("", views.index_status, name="index_status"),
    path("sync", views.index_sync_now, name="index_sync_now"),
]
