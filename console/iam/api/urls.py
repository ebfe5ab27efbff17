from django.urls import path

from console.iam.api import views, views_regions

urlpatterns = [
    path("regions", views_regions.RegionListView.as_view(), name="describe-regions"),
    path("iam/users", views.UserListView.as_view(), name="iam-users"),
    path("iam/users/<str:UserName>", views.UserDetailView.as_view(), name="iam-user"),
    path("iam/users/<str:UserName>/policies", views.UserPolicyListView.as_view(), name="iam-user-policies"),
    path("iam/users/<str:UserName>/policies/<str:PolicyName>", views.UserPolicyDetailView.as_view(),
         name="iam-user-policy"),
    path("iam/accesskeys", views.AccessKeyListView.as_view(), name="iam-accesskeys"),
    path("iam/accesskeys/<str:AccessKeyId>", views.AccessKeyDetailView.as_view(), name="iam-accesskey"),
    path("iam/policies", views.PolicyListView.as_view(), name="iam-policies"),
    path("iam/policies/<str:PolicyName>", views.PolicyDetailView.as_view(), name="iam-policy"),
    path("iam/auditlogs", views.AuditLogListView.as_view(), name="iam-auditlogs"),
]
