"""Where clients call a service: the gateway's public address and its intranet (VPC) address."""
from django.conf import settings


def predict_path(service_name: str) -> str:
    return f"/api/predict/{service_name}"


def internet_endpoint(service) -> str:
    return settings.EAS_GATEWAY_URL + predict_path(service.name)


def intranet_endpoint(service) -> str:
    return settings.EAS_GATEWAY_INTRANET_URL + predict_path(service.name)
