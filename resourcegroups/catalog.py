"""What the platform offers: the regions and the machine types of the seeds.

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


# The seeds' "资源类型" table: the 14 machine types dedicated resource groups are bought in.
# `charge_types` carries the table's 仅预付费 / 仅后付费 markers. Memory is in GB as in the table;
# GPU memory (GB) is that of the card model.
PREPAID = "PrePaid"
POSTPAID = "PostPaid"
BOTH = (PREPAID, POSTPAID)

GPU_MEMORY_GB = {"Tesla P4": 8, "Tesla T4": 16, "Tesla P100": 16, "Tesla V100": 16}


def _type(name, cpu, memory_gb, gpu_model="", charge_types=BOTH):
    return {
        "name": name, "cpu": cpu, "memory_gb": memory_gb, "gpu": 1 if gpu_model else 0,
        "gpu_model": gpu_model, "gpu_memory_gb": GPU_MEMORY_GB.get(gpu_model, 0),
        "charge_types": charge_types,
    }


MACHINE_TYPES = [
    _type("ecs.c5.6xlarge", 24, 48, charge_types=(PREPAID,)),
    _type("ecs.g5.6xlarge", 24, 96, charge_types=(PREPAID,)),
    _type("ecs.g6.4xlarge", 16, 64, charge_types=(POSTPAID,)),
    _type("ecs.g6.6xlarge", 24, 96, charge_types=(POSTPAID,)),
    _type("ecs.gn5i-c4g1.xlarge", 4, 16, "Tesla P4"),
    _type("ecs.gn5i-c8g1.2xlarge", 8, 32, "Tesla P4"),
    _type("ecs.gn6i-c4g1.xlarge", 4, 15, "Tesla T4"),
    _type("ecs.gn6i-c8g1.2xlarge", 8, 31, "Tesla T4"),
    _type("ecs.gn6i-c16g1.4xlarge", 16, 62, "Tesla T4"),
    _type("ecs.gn6i-c24g1.6xlarge", 24, 93, "Tesla T4"),
    _type("ecs.gn5-c4g1.xlarge", 4, 30, "Tesla P100"),
    _type("ecs.gn5-c8g1.2xlarge", 8, 60, "Tesla P100"),
    _type("ecs.gn5-c28g1.7xlarge", 28, 112, "Tesla P100"),
    _type("ecs.gn6v-c8g1.2xlarge", 8, 32, "Tesla V100"),
]

# A registered machine matches a type when its cores and GPU count are equal and its memory is
# within this fraction of the nominal size (hosts report a little less than they were sold as).
MEMORY_TOLERANCE = 0.1


def machine_type(name: str) -> dict | None:
    return next((t for t in MACHINE_TYPES if t["name"] == name), None)


def memory_range_mb(spec: dict) -> tuple[int, int]:
    nominal = spec["memory_gb"] * 1024
    return int(nominal * (1 - MEMORY_TOLERANCE)), int(nominal * (1 + MEMORY_TOLERANCE))


def gpu_model_matches(spec: dict, gpu_type: str) -> bool:
    """An unnamed GPU matches any model; a named one must mention the card (e.g. "T4")."""
    return not gpu_type or spec["gpu_model"].split()[-1].lower() in gpu_type.lower()


def matching_types(cpu: int, memory_mb: int, gpu: int = 0, gpu_type: str = "") -> list[str]:
    """Names of the catalog types a machine of this spec can be sold as (possibly several)."""
    names = []
    for spec in MACHINE_TYPES:
        low, high = memory_range_mb(spec)
        if spec["cpu"] == cpu and spec["gpu"] == gpu and low <= memory_mb <= high and (
            not gpu or gpu_model_matches(spec, gpu_type)
        ):
            names.append(spec["name"])
    return names
