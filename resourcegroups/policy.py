"""What a service may ask of a resource group; the deployment engine calls these before placing it.

Public groups (R1): shared CPU machines, resources in Quota (1 Quota = 1 core + 4 GB, 1-100),
the built-in processors except Blade, no custom processors and no GPUs (S13, seed 6.1).
Dedicated groups take any processor, but only while they run.
"""
from console.iam.errors import Conflict, InvalidParameter
from resourcegroups.billing import MAX_QUOTA, MIN_QUOTA
from resourcegroups.models import ResourceGroup

CUSTOM_PROCESSOR = "custom"
QUOTA_CPU = 1
QUOTA_MEMORY_MB = 4096


def quota_resources(quota: int) -> tuple[int, int]:
    """(cores, memory MB) of `quota` Quota, after checking the 1-100 range."""
    if isinstance(quota, bool) or not isinstance(quota, int) or not MIN_QUOTA <= quota <= MAX_QUOTA:
        raise InvalidParameter(f"Quota must be an integer from {MIN_QUOTA} to {MAX_QUOTA}.",
                               code="InvalidParameter.Quota")
    return quota * QUOTA_CPU, quota * QUOTA_MEMORY_MB


def check_service_allowed(group: ResourceGroup, processor_kind: str, *, gpu: int = 0) -> None:
    """Refuse a service the group cannot run.

    `processor_kind` is a built-in processor code (`pmml`, `tensorflow_cpu_1.15`, …) or
    `CUSTOM_PROCESSOR` for a custom processor (processor_path / processor_entry given).
    """
    if not group.is_running:
        raise Conflict(f"Resource group {group.group_id} is {group.status}: {group.message}",
                       code="ResourceNotReady")
    if not group.is_public:
        return
    if processor_kind == CUSTOM_PROCESSOR:
        raise InvalidParameter("Custom processors can only be deployed on a dedicated resource group.",
                               code="InvalidParameter.Processor")
    if processor_kind.startswith("blade"):
        raise InvalidParameter("The Blade processor is not available on the public resource group.",
                               code="InvalidParameter.Processor")
    if gpu or "_gpu" in processor_kind:
        raise InvalidParameter("The public resource group has CPU machines only; use a dedicated group "
                               "for GPU services.", code="InvalidParameter.Gpu")
