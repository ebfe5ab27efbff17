"""Resource-group API under /api/v2/, on the paths the official SDK calls."""
from django.urls import path

from resourcegroups.api import views

GROUP = "resources/<str:ClusterId>/<str:ResourceId>"

urlpatterns = [
    path("resources", views.ResourceListView.as_view(), name="resources"),
    path(GROUP, views.ResourceDetailView.as_view(), name="resource"),
    path(f"{GROUP}/instances", views.ResourceInstancesView.as_view(), name="resource-instances"),
    path(f"{GROUP}/services", views.ResourceServicesView.as_view(), name="resource-services"),
    path(f"{GROUP}/dlink", views.ResourceDLinkView.as_view(), name="resource-dlink"),
    path(f"{GROUP}/renew", views.ResourceRenewView.as_view(), name="resource-renew"),
    path(f"{GROUP}/orders", views.ResourceOrderListView.as_view(), name="resource-orders"),
    path(f"{GROUP}/orders/<str:OrderId>", views.ResourceOrderDetailView.as_view(), name="resource-order"),
    path("public/instance_types", views.MachineSpecView.as_view(), name="describe-machine-spec"),
]
