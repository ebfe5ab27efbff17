from django.urls import path

from console.iam import views

app_name = "iam"

urlpatterns = [
    path("users/", views.user_list, name="users"),
    path("users/<str:name>/", views.user_detail, name="user"),
    path("accesskeys/", views.access_key_list, name="access-keys"),
    path("policies/", views.policy_list, name="policies"),
    path("policies/new/", views.policy_create, name="policy-create"),
    path("policies/<str:name>/", views.policy_detail, name="policy"),
    path("audit/", views.audit_log, name="audit"),
]
