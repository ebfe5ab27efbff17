from django.apps import AppConfig


class ServicesConfig(AppConfig):
    name = "services"
    verbose_name = "Model services"

    def ready(self):
        from services import group_events  # noqa: F401  (connects the resource-group receivers)
