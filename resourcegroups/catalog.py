"""What the platform offers: the regions of the seeds (and, later, machine types).

Endpoints are those of the seeds' "地域与Endpoint的对应关系" table; the region this installation
runs (settings.EAS_REGION) is served at settings.EAS_CONSOLE_URL instead.
"""

REGIONS = [
    {"id": "cn-shanghai", "name": "华东2（上海）", "name_en": "China East 2 (Shanghai)",
     "endpoint": "pai-eas.cn-shanghai.aliyuncs.com", "share_endpoint": "pai-eas-share.cn-shanghai.aliyuncs.com"},
    {"id": "cn-beijing", "name": "华北2（北京）", "name_en": "China North 2 (Beijing)",
     "endpoint": "pai-eas.cn-beijing.aliyuncs.com", "share_endpoint": "pai-eas-share.cn-beijing.aliyuncs.com"},
    {"id": "cn-north-2-gov-1", "name": "华北2（北京）政务云", "name_en": "China North 2 Ali Gov 1",
     "endpoint": "pai-eas.cn-north-2-gov-1.aliyuncs.com", "share_endpoint": ""},
    {"id": "cn-hangzhou", "name": "华东1（杭州）", "name_en": "China East 1 (Hangzhou)",
     "endpoint": "pai-eas.cn-hangzhou.aliyuncs.com", "share_endpoint": ""},
    {"id": "cn-shenzhen", "name": "华南1（深圳）", "name_en": "China South 1 (Shenzhen)",
     "endpoint": "pai-eas.cn-shenzhen.aliyuncs.com", "share_endpoint": ""},
    {"id": "cn-hongkong", "name": "中国（香港）", "name_en": "China (Hong Kong)",
     "endpoint": "pai-eas.cn-hongkong.aliyuncs.com", "share_endpoint": ""},
    {"id": "ap-southeast-1", "name": "新加坡（新加坡）", "name_en": "Singapore",
     "endpoint": "pai-eas.ap-southeast-1.aliyuncs.com", "share_endpoint": ""},
    {"id": "ap-south-1", "name": "印度（孟买）", "name_en": "India (Mumbai)",
     "endpoint": "pai-eas.ap-south-1.aliyuncs.com", "share_endpoint": ""},
    {"id": "ap-southeast-5", "name": "印度尼西亚（雅加达）", "name_en": "Indonesia (Jakarta)",
     "endpoint": "pai-eas.ap-southeast-5.aliyuncs.com", "share_endpoint": ""},
    {"id": "eu-central-1", "name": "德国（法兰克福）", "name_en": "Germany (Frankfurt)",
     "endpoint": "pai-eas.eu-central-1.aliyuncs.com", "share_endpoint": ""},
    {"id": "us-east-1", "name": "美国（弗吉尼亚）", "name_en": "US (Virginia)",
     "endpoint": "pai-eas.us-east-1.aliyuncs.com", "share_endpoint": ""},
]


def region(region_id: str) -> dict | None:
    return next((r for r in REGIONS if r["id"] == region_id), None)
