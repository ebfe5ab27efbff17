"""Console forms. Each one turns what a person typed into the arguments of a domain call;
validation of service descriptions stays in services.spec, of orders in resourcegroups.orders."""
from django import forms

from resourcegroups import catalog, orders
from resourcegroups.models import ChargeType
from services import spec

# The seeds' processor table (6.3): the codes `service.json` uses.
PROCESSORS = [
    ("pmml", "PMML"),
    ("tensorflow_cpu_1.15", "TensorFlow 1.15 (CPU)"),
    ("tensorflow_gpu_1.15", "TensorFlow 1.15 (GPU)"),
    ("tensorflow_cpu_1.14", "TensorFlow 1.14 (CPU)"),
    ("tensorflow_gpu_1.14", "TensorFlow 1.14 (GPU)"),
    ("tensorflow_cpu_1.12", "TensorFlow 1.12 (CPU)"),
    ("tensorflow_gpu_1.12", "TensorFlow 1.12 (GPU)"),
    ("pytorch_cpu_1.6", "PyTorch 1.6 (CPU)"),
    ("pytorch_gpu_1.6", "PyTorch 1.6 (GPU)"),
    ("custom", "Custom processor"),
]
CUSTOM = "custom"
SOURCES = [("upload", "Local upload"), ("oss", "Object store"), ("url", "Public URL")]
MONTHS = [(m, f"{m} month{'s' if m > 1 else ''}") for m in range(1, 12)] + [(12, "1 year"), (36, "3 years")]


class ModelSourceMixin(forms.Form):
    """Where a model comes from: a local upload, an object-store path, or a public URL.

    All three end up as one `model_path`; the upload and the picker fill it in the browser.
    """

    model_source = forms.ChoiceField(choices=SOURCES, initial="upload", widget=forms.RadioSelect)
    model_path = forms.CharField(required=False, max_length=2048, label="Model file",
                                 help_text="oss://… path of an uploaded file, or an http(s):// URL of an archive.")

    def clean_model_path(self):
        return self.cleaned_data["model_path"].strip()


class DeployForm(ModelSourceMixin):
    """Both panels of the deployment wizard (seed 6.1 控制台上传部署)."""

    # Panel 1: resources and model
    resource_group = forms.ChoiceField(label="Resource group kind", required=False)
    processor = forms.ChoiceField(choices=PROCESSORS, label="Processor kind", initial="pmml")
    resource_kind = forms.ChoiceField(choices=[("cpu", "CPU")], label="Resource kind", required=False,
                                      help_text="The public resource group offers CPU machines.")
    processor_type = forms.ChoiceField(choices=[(kind, kind) for kind in spec.PROCESSOR_TYPES], required=False,
                                       label="Processor language")
    processor_path = forms.CharField(required=False, max_length=2048, label="Processor package",
                                     help_text="Archive with your processor code (and its ENV folder).")
    processor_entry = forms.CharField(required=False, max_length=256, label="Processor main file",
                                      help_text="For example app.py, libprocessor.so or processor.jar.")
    processor_mainclass = forms.CharField(required=False, max_length=256, label="Processor main class",
                                          help_text="Java only: the class in the jar, e.g. com.alibaba.eas.TestProcessor.")
    # Panel 2: details and confirm
    mode = forms.ChoiceField(choices=[("new", "New service"), ("bluegreen", "Blue-green deployment")],
                             initial="new", widget=forms.RadioSelect, label="Deployment")
    name = forms.CharField(max_length=63, required=False, label="Service name",
                           help_text="Lowercase letters, digits and underscores, starting with a letter.")
    origin = forms.ChoiceField(required=False, label="Existing service",
                               help_text="The new service gets this name plus a random suffix.")
    instances = forms.IntegerField(min_value=0, max_value=spec.MAX_INSTANCES, initial=1, label="Instances",
                                   help_text="Several instances avoid a single point of failure.")
    quota = forms.IntegerField(min_value=1, max_value=spec.MAX_PUBLIC_QUOTA, initial=1, required=False,
                               label="Quota", help_text="1 Quota = 1 core + 4 GB memory (1-100).")
    cpu = forms.IntegerField(min_value=1, max_value=256, initial=1, required=False, label="Cores")
    memory = forms.IntegerField(min_value=64, initial=1000, required=False, label="Memory (MB)")
    gpu = forms.IntegerField(min_value=0, max_value=16, initial=0, required=False, label="GPUs")

    # spec.parse error keys -> the field showing them
    SPEC_FIELDS = {
        "name": "name", "processor": "processor", "processor_type": "processor_type",
        "processor_path": "processor_path", "processor_entry": "processor_entry",
        "processor_mainclass": "processor_mainclass", "model_path": "model_path",
        "metadata.instance": "instances", "metadata.quota": "quota", "metadata.cpu": "cpu",
        "metadata.memory": "memory", "metadata.gpu": "gpu", "metadata.resource": "resource_group",
    }
    PANEL_ONE = {"resource_group", "processor", "resource_kind", "processor_type", "processor_path",
                 "processor_entry", "processor_mainclass", "model_source", "model_path"}

    def __init__(self, *args, groups=(), services=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["resource_group"].choices = [("", "Public resource group")] + [
            (g.group_id, f"{g.name} ({g.machine_type}, {g.get_status_display()})") for g in groups]
        self.fields["origin"].choices = [("", "Choose a service")] + [(s.name, s.name) for s in services]

    @property
    def dedicated(self) -> bool:
        return bool(self.cleaned_data.get("resource_group"))

    def clean(self):
        data = super().clean()
        if data.get("mode") == "bluegreen" and not data.get("origin"):
            self.add_error("origin", "Choose the service to deploy next to.")
        if data.get("mode", "new") == "new" and not data.get("name"):
            self.add_error("name", "Give the service a name.")
        if data.get("processor") == CUSTOM and not data.get("resource_group"):
            self.add_error("processor", "Custom processors can only be deployed on a dedicated resource group.")
        return data

    def description(self) -> dict:
        """The service.json these answers make."""
        data = self.cleaned_data
        description = {"name": data["origin"] if data["mode"] == "bluegreen" else data["name"]}
        if data["processor"] == CUSTOM:
            description.update(processor_type=data["processor_type"], processor_path=data["processor_path"],
                               processor_entry=data["processor_entry"])
            if data["processor_type"] == "java":
                description["processor_mainclass"] = data["processor_mainclass"]
        else:
            description["processor"] = data["processor"]
        if data["model_path"]:
            description["model_path"] = data["model_path"]
        metadata = {"instance": data["instances"]}
        if self.dedicated:
            metadata.update(resource=data["resource_group"], cpu=data.get("cpu") or 1,
                            memory=data.get("memory") or 1000)
            if data.get("gpu"):
                metadata["gpu"] = data["gpu"]
        else:
            metadata["quota"] = data.get("quota") or 1
        description["metadata"] = metadata
        return description

    def add_spec_errors(self, errors: dict[str, str]) -> None:
        """Show each error of services.spec next to the field it is about."""
        for key, message in errors.items():
            field = self.SPEC_FIELDS.get(key)
            if field and field not in self.errors:
                self.add_error(field, message)
            elif not field:
                self.add_error(None, f"{key}: {message}")

    @property
    def first_panel_has_errors(self) -> bool:
        return bool(self.PANEL_ONE & set(self.errors))


class JsonDeployForm(forms.Form):
    """The wizard's JSON mode: a whole service.json, as `eascmd create` takes it."""

    service_json = forms.CharField(label="Service description (service.json)",
                                   widget=forms.Textarea(attrs={"rows": 22, "spellcheck": "false"}))
    associate = forms.BooleanField(required=False, label="Blue-green: create an associated service of the "
                                                         "existing service with this name")


class ScaleForm(forms.Form):
    instances = forms.IntegerField(min_value=0, max_value=spec.MAX_INSTANCES, label="Instances",
                                   help_text="Only the instance count changes: running instances are kept.")


class ScheduleForm(forms.Form):
    """Scheduled redeploy (S12): a new version from a fixed model path on a cron schedule,
    checked with a request and rolled back when the check fails."""

    cron = forms.CharField(max_length=64, label="Schedule (cron, UTC)", initial="0 2 * * *",
                           help_text="minute hour day month weekday, e.g. 0 2 * * * for every night at 02:00")
    model_path = forms.CharField(max_length=1024, label="Model path",
                                 help_text="The fixed path the new model is published to (oss://, http(s)://)")
    check_body = forms.CharField(required=False, label="Check request body", widget=forms.Textarea(attrs={"rows": 3}))
    expect_status = forms.IntegerField(min_value=100, max_value=599, initial=200, label="Expected status")
    expect_contains = forms.CharField(max_length=256, required=False, label="Expected in the answer")
    enabled = forms.BooleanField(required=False, initial=True, label="Enabled")


class TrafficForm(forms.Form):
    """The seeds' 切换流量 dialog: the original endpoint's traffic split between the two services."""

    current = forms.IntegerField(min_value=0, max_value=100, label="Current service (%)")

    @property
    def associated_weight(self) -> int:
        return 100 - self.cleaned_data["current"]


class AddVersionForm(ModelSourceMixin):
    processor = forms.ChoiceField(choices=PROCESSORS[:-1], label="Processor kind")

    def changes(self) -> dict:
        data = self.cleaned_data
        changes = {"processor": data["processor"]}
        if data["model_path"]:
            changes["model_path"] = data["model_path"]
        return changes

    def clean(self):
        data = super().clean()
        if not data.get("model_path"):
            self.add_error("model_path", "Upload a model, pick one from the object store or give a URL.")
        return data


class BuyGroupForm(forms.Form):
    """Buying a dedicated group (seed 3 and 5.3): region, machine type, count, duration, auto-renew."""

    region = forms.ChoiceField(label="Region")
    machine_type = forms.ChoiceField(label="Machine type")
    count = forms.IntegerField(min_value=1, label="Machines")
    months = forms.TypedChoiceField(choices=MONTHS, coerce=int, initial=1, required=False, label="Duration")
    auto_renew = forms.BooleanField(required=False, label="Renew automatically at expiry")
    name = forms.CharField(max_length=64, required=False, label="Group name",
                           help_text="Optional; the group id is used when empty.")

    def __init__(self, *args, charge_type: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.charge_type = charge_type
        self.fields["region"].choices = [(r["id"], f"{r['name_en']} · {r['id']}") for r in catalog.REGIONS]
        self.fields["machine_type"].choices = [
            (t["name"], machine_type_label(t)) for t in catalog.MACHINE_TYPES if charge_type in t["charge_types"]]
        prepaid = charge_type == ChargeType.PREPAID
        self.fields["count"].max_value = orders.MAX_PREPAID_MACHINES if prepaid else orders.MAX_POSTPAID_MACHINES
        self.fields["count"].help_text = "1-1000 machines." if prepaid else "1-100 machines."
        self.fields["count"].widget.attrs["max"] = self.fields["count"].max_value
        if not prepaid:
            del self.fields["months"], self.fields["auto_renew"]


def machine_type_label(spec_: dict) -> str:
    gpu = f", 1 × {spec_['gpu_model']}" if spec_["gpu"] else ""
    return f"{spec_['name']} · {spec_['cpu']} cores, {spec_['memory_gb']} GB{gpu}"


class MachineCountForm(forms.Form):
    count = forms.IntegerField(min_value=1, max_value=orders.MAX_MACHINES_PER_CHANGE, initial=1,
                               label="Machines to add")


class PostpaidCountForm(forms.Form):
    count = forms.IntegerField(min_value=0, max_value=orders.MAX_POSTPAID_MACHINES, label="Machines",
                               help_text="The group keeps this many machines; 0 stops it.")


class RenewForm(forms.Form):
    months = forms.TypedChoiceField(choices=MONTHS, coerce=int, initial=1, label="Renew for")


class GroupSettingsForm(forms.Form):
    name = forms.CharField(max_length=64, label="Group name")
    auto_renew = forms.BooleanField(required=False, label="Renew automatically at expiry")


class DirectLinkForm(forms.Form):
    """VPC direct connection (seed 5.4): the user's vSwitch and security group, extra vSwitches, CIDRs."""

    vpc_id = forms.CharField(required=False, label="VPC", help_text="For example vpc-uf6s9pv47nu03srne.")
    vswitch_id = forms.CharField(label="vSwitch", help_text="For example vsw-8vbsunr5bkcbyxh94.")
    security_group_id = forms.CharField(label="Security group", help_text="For example sg-8vbhwowdxzx5fjcx.")
    aux_vswitch_ids = forms.CharField(required=False, label="More vSwitches", help_text="Comma-separated.")
    destination_cidrs = forms.CharField(required=False, label="Destination CIDR blocks",
                                        help_text="Comma-separated, for example 192.168.0.0/16.")

    def api_fields(self) -> dict:
        """The fields as resourcegroups.dlink.parse reads them."""
        data = self.cleaned_data
        fields = {"VSwitchId": data["vswitch_id"], "SecurityGroupId": data["security_group_id"],
                  "VSwitchIdList": data["aux_vswitch_ids"], "DestinationCIDRs": data["destination_cidrs"]}
        if data["vpc_id"]:
            fields["VpcId"] = data["vpc_id"]
        return fields
