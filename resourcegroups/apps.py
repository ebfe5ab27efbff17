from django.apps import AppConfig


class ResourceGroupsConfig(AppConfig):
    name = "resourcegroups"
    verbose_name = "Resource groups and machines"
