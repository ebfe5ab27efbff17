"""Django admin for operators: machines, groups, orders, bills, prices and wallets."""
from decimal import Decimal

from django import forms
from django.contrib import admin, messages

from resourcegroups import billing, catalog, fleet, state
from resourcegroups.models import Bill, DirectLink, Machine, Order, Price, ResourceGroup, Wallet


class MachineForm(forms.ModelForm):
    machine_type = forms.ChoiceField(
        required=False, choices=[("", "matched by spec")] + [(t["name"], t["name"]) for t in catalog.MACHINE_TYPES],
    )

    class Meta:
        model = Machine
        fields = "__all__"


@admin.register(Machine)
class MachineAdmin(admin.ModelAdmin):
    form = MachineForm
    list_display = ("name", "instance_id", "region", "ip", "status", "cpu", "memory_mb", "gpu", "shown_type",
                    "group", "charge_type", "temporary", "last_heartbeat")
    list_filter = ("status", "region", "group__kind", "temporary")
    search_fields = ("name", "instance_id", "ip")
    readonly_fields = ("instance_id", "registered", "last_heartbeat", "cpu_used", "memory_used_mb",
                       "gpu_utilization", "agent_version", "group", "charge_type", "temporary", "assigned_at",
                       "billed_until")
    actions = ("assign_to_public_group", "make_free")

    def _assign(self, request, queryset, pool):
        for machine in queryset:
            try:
                fleet.assign_machine(machine.name, pool)
            except ValueError as exc:
                self.message_user(request, str(exc), messages.ERROR)

    @admin.action(description="Assign to the region's public group")
    def assign_to_public_group(self, request, queryset):
        self._assign(request, queryset, fleet.PUBLIC)

    @admin.action(description="Make free for dedicated groups")
    def make_free(self, request, queryset):
        self._assign(request, queryset, fleet.FREE)


class MachineInline(admin.TabularInline):
    model = Machine
    fields = ("name", "instance_id", "ip", "status", "cpu", "memory_mb", "gpu", "charge_type", "temporary",
              "assigned_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


class DirectLinkInline(admin.StackedInline):
    model = DirectLink
    extra = 0


@admin.register(ResourceGroup)
class ResourceGroupAdmin(admin.ModelAdmin):
    list_display = ("group_id", "name", "account", "region", "kind", "charge_type", "machine_type", "status",
                    "stop_reason", "expires_at", "auto_renew")
    list_filter = ("kind", "charge_type", "status", "region")
    search_fields = ("group_id", "name", "account__name", "account__uid")
    readonly_fields = ("group_id", "kind", "charge_type", "machine_type", "created", "updated")
    inlines = (MachineInline, DirectLinkInline)
    actions = ("release",)

    @admin.action(description="Release: delete the group and its services, free its machines")
    def release(self, request, queryset):
        for group in queryset.filter(kind=ResourceGroup.Kind.DEDICATED):
            state.release(group)
            self.message_user(request, f"Released {group.group_id}.")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("order_id", "kind", "status", "account", "resource_id", "machine_type", "count", "months",
                    "amount", "created", "finished")
    list_filter = ("kind", "status", "charge_type")
    search_fields = ("order_id", "resource_id", "account__name")


@admin.register(Bill)
class BillAdmin(ReadOnlyAdmin):
    list_display = ("created", "account", "kind", "resource_id", "service_id", "quantity", "unit", "unit_price",
                    "amount")
    list_filter = ("kind",)
    search_fields = ("resource_id", "service_id", "account__name")


@admin.register(Price)
class PriceAdmin(admin.ModelAdmin):
    list_display = ("machine_type", "kind", "unit_price", "currency")
    list_editable = ("unit_price",)
    list_filter = ("kind",)


class WalletForm(forms.ModelForm):
    top_up = forms.DecimalField(required=False, min_value=Decimal("0.01"), decimal_places=2,
                                help_text="amount credited to the balance on save")

    class Meta:
        model = Wallet
        fields = ("account", "overdraft_limit", "top_up")


@admin.register(Wallet)
class WalletAdmin(admin.ModelAdmin):
    form = WalletForm
    list_display = ("account", "balance", "overdraft_limit", "arrears_since")
    readonly_fields = ("balance", "arrears_since")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        billing.top_up(obj.account, form.cleaned_data.get("top_up") or Decimal("0"))
