from django.urls import path

from accounts import views

urlpatterns = [
    path("", views.access_home, name="access_home"),
    path("users/new", views.access_user_new, name="access_user_new"),
    path("users/<int:pk>/", views.access_user_detail, name="access_user_detail"),
    path("users/<int:pk>/password", views.access_user_password, name="access_user_password"),
    path("changes/<int:pk>/", views.access_change_detail, name="access_change_detail"),
    path("changes/<int:pk>/approve", views.access_change_approve, name="access_change_approve"),
    path("changes/<int:pk>/reject", views.access_change_reject, name="access_change_reject"),
    path("changes/<int:pk>/cancel", views.access_change_cancel, name="access_change_cancel"),
]
