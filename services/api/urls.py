from django.urls import path, re_path

from services.api import storage, views

SERVICE = "services/<str:ClusterId>/<str:ServiceName>"

urlpatterns = [
    path("services", views.ServiceCollectionView.as_view(), name="services"),
    path(SERVICE, views.ServiceDetailView.as_view(), name="service"),
    path(f"{SERVICE}/start", views.ServiceActionView.as_view(action="start"), name="service-start"),
    path(f"{SERVICE}/stop", views.ServiceActionView.as_view(action="stop"), name="service-stop"),
    path(f"{SERVICE}/restart", views.ServiceActionView.as_view(action="restart"), name="service-restart"),
    path(f"{SERVICE}/version", views.ServiceVersionView.as_view(), name="service-version"),
    path(f"{SERVICE}/versions", views.ServiceVersionsView.as_view(), name="service-versions"),
    path(f"{SERVICE}/release", views.ServiceReleaseView.as_view(), name="service-release"),
    path(f"{SERVICE}/instances", views.ServiceInstancesView.as_view(), name="service-instances"),
    path(f"{SERVICE}/events", views.ServiceEventsView.as_view(), name="service-events"),
    path(f"{SERVICE}/logs", views.ServiceLogsView.as_view(), name="service-logs"),
    path(f"{SERVICE}/endpoints", views.ServiceEndpointsView.as_view(), name="service-endpoints"),
    path(f"{SERVICE}/schedule", views.ServiceScheduleView.as_view(), name="service-schedule"),
    re_path(r"^storage/objects(?:/(?P<path>.*))?$", storage.RepositoryObjectsView.as_view(), name="storage-objects"),
]
