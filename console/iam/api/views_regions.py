"""DescribeRegions (`GET /api/v2/regions`), as the official SDK calls it."""
from urllib.parse import urlsplit

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from console.iam.api.permissions import EasOperationPermission
from console.iam.api.responses import api_response
from resourcegroups.catalog import REGIONS


def region_data(region: dict) -> dict:
    local = region["id"] == settings.EAS_REGION
    return {
        "RegionId": region["id"],
        "RegionName": region["name"],
        "RegionNameEn": region["name_en"],
        "Endpoint": urlsplit(settings.EAS_CONSOLE_URL).netloc if local else region["endpoint"],
        "ShareEndpoint": region["share_endpoint"],
        "Local": local,
    }


class RegionListView(APIView):
    permission_classes = [EasOperationPermission]
    eas_operations = {"GET": "DescribeRegions"}

    @extend_schema(operation_id="DescribeRegions", responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return api_response(request, {"Regions": [region_data(r) for r in REGIONS]})
