from django.apps import AppConfig


class IamConfig(AppConfig):
    name = "console.iam"
    label = "iam"
    verbose_name = "Identity and access (RAM)"

    def ready(self):
        from console.iam.api import schema  # noqa: F401  (registers the OpenAPI security scheme)
