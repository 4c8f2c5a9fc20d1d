from django.urls import path

from retention import views

urlpatterns = [
    path("", views.retention_home, name="retention_home"),
    path("policies/new", views.retention_policy_new, name="retention_policy_new"),
    path("policies/<int:pk>/", views.retention_policy_detail, name="retention_policy_detail"),
    path(
        "policies/<int:pk>/approve", views.retention_policy_approve, name="retention_policy_approve"
    ),
    path("policies/<int:pk>/reject", views.retention_policy_reject, name="retention_policy_reject"),
    path("policies/<int:pk>/cancel", views.retention_policy_cancel, name="retention_policy_cancel"),
    path("holds/new", views.retention_hold_new, name="retention_hold_new"),
    path("holds/<int:pk>/", views.retention_hold_detail, name="retention_hold_detail"),
    path("holds/<int:pk>/lift", views.retention_hold_lift, name="retention_hold_lift"),
    path(
        "holds/<int:pk>/lift/approve",
        views.retention_hold_lift_approve,
        name="retention_hold_lift_approve",
    ),
    path(
        "holds/<int:pk>/lift/refuse",
        views.retention_hold_lift_refuse,
        name="retention_hold_lift_refuse",
    ),
]
