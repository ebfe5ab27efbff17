from django.contrib.auth import views as auth_views
from django.contrib.staticfiles.views import serve as serve_static
from django.urls import include, path, re_path

from frontend.views import debug, deploy, monitoring, overview, resourcegroups, services

SERVICE = "<str:region>/<str:name>/"

service_patterns = ([
    path(SERVICE, services.detail, name="detail"),
    path(f"{SERVICE}instances/", services.instances, name="instances"),
    path(f"{SERVICE}call-info/", services.call_info, name="call-info"),
    path(f"{SERVICE}scale/", services.scale, name="scale"),
    path(f"{SERVICE}traffic/", services.traffic, name="traffic"),
    path(f"{SERVICE}add-version/", services.add_version, name="add-version"),
    path(f"{SERVICE}version/", services.switch_version, name="version"),
    path(f"{SERVICE}schedule/", services.schedule, name="schedule"),
    path(f"{SERVICE}start/", services.start, name="start"),
    path(f"{SERVICE}stop/", services.stop, name="stop"),
    path(f"{SERVICE}restart/", services.restart, name="restart"),
    path(f"{SERVICE}delete/", services.delete, name="delete"),
    path(f"{SERVICE}debug/", debug.panel, name="debug"),
    path(f"{SERVICE}debug/send/", debug.send, name="debug-send"),
    path(f"{SERVICE}monitoring/", monitoring.page, name="monitoring"),
    path(f"{SERVICE}monitoring/data/", monitoring.data, name="monitoring-data"),
], "services")

deploy_patterns = ([
    path("", deploy.wizard, name="new"),
    path("json/", deploy.json_mode, name="json"),
    path("objects/", deploy.objects, name="objects"),
], "deploy")

GROUP = "<str:group_id>/"

group_patterns = ([
    path("", resourcegroups.group_list, name="list"),
    path("buy/<str:charge>/", resourcegroups.buy, name="buy"),
    path(GROUP, resourcegroups.detail, name="detail"),
    path(f"{GROUP}settings/", resourcegroups.group_settings, name="settings"),
    path(f"{GROUP}scale/", resourcegroups.scale, name="scale"),
    path(f"{GROUP}temporary/", resourcegroups.temporary, name="temporary"),
    path(f"{GROUP}scale-down/", resourcegroups.scale_down, name="scale-down"),
    path(f"{GROUP}renew/", resourcegroups.renew, name="renew"),
    path(f"{GROUP}delete/", resourcegroups.delete, name="delete"),
    path(f"{GROUP}machines/<str:instance_id>/release/", resourcegroups.release_machine, name="release-machine"),
    path(f"{GROUP}direct-connection/", resourcegroups.direct_connection, name="dlink"),
], "resourcegroups")

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="frontend/login.html", next_page="overview",
                                               redirect_authenticated_user=True),
         name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="login"), name="logout"),
    path("", overview.overview, name="overview"),
    path("services/", include(service_patterns)),
    path("deploy/", include(deploy_patterns)),
    path("resource-groups/", include(group_patterns)),
    # The ASGI server serves no files itself; our CSS/JS and the packages frontend/build.py copied.
    re_path(r"^static/(?P<path>.+)$", serve_static, {"insecure": True}),
]
