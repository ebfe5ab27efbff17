from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from console import views
from services.api.storage import presigned_object

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v2/", include("console.iam.api.urls")),
    path("iam/", include("console.iam.urls")),
    path("api/v2/", include("services.api.urls")),
    path("storage/objects/<str:token>", presigned_object, name="storage-presigned-object"),
    path("api/v2/", include("resourcegroups.api.urls")),
    path("", include("frontend.urls")),
]
