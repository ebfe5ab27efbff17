"""Operator views of tenants and RAM objects; AccessKey secrets and the audit trail stay read-only."""
from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from console.iam import policies
from console.iam.errors import InvalidParameter
from console.iam.models import AccessKey, Account, AuditEntry, Policy, PolicyAttachment, RamUser


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "uid", "owner", "created")
    search_fields = ("name", "uid")
    readonly_fields = ("uid", "created")


@admin.register(RamUser)
class RamUserAdmin(admin.ModelAdmin):
    list_display = ("login_name", "display_name", "account", "created")
    list_filter = ("account",)
    search_fields = ("name", "display_name", "account__uid")
    raw_id_fields = ("user",)


@admin.register(AccessKey)
class AccessKeyAdmin(admin.ModelAdmin):
    list_display = ("access_key_id", "user", "account", "status", "last_used", "created")
    list_filter = ("status", "account")
    search_fields = ("access_key_id", "user__username")
    fields = ("access_key_id", "account", "user", "status", "last_used", "created")
    readonly_fields = ("access_key_id", "account", "user", "last_used", "created")

    def has_add_permission(self, request):
        # A key made here would have no secret anyone could see; use the console or the API.
        return False


class PolicyAttachmentInline(admin.TabularInline):
    model = PolicyAttachment
    extra = 0
    raw_id_fields = ("ram_user",)


class PolicyAdminForm(forms.ModelForm):
    class Meta:
        model = Policy
        fields = "__all__"

    def clean_document(self):
        try:
            return policies.parse_document(self.cleaned_data["document"])
        except InvalidParameter as exc:
            raise ValidationError([ValidationError(p) for p in exc.problems]) from None


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    form = PolicyAdminForm
    list_display = ("name", "policy_type", "account", "updated")
    list_filter = ("policy_type",)
    search_fields = ("name",)
    inlines = [PolicyAttachmentInline]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("created", "account", "actor", "access_key_id", "operation", "target", "result")
    list_filter = ("result", "operation")
    search_fields = ("actor", "access_key_id", "target", "request_id")
    date_hierarchy = "created"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
