"""Request validation and response shapes of the RAM API, with EAS-style PascalCase keys."""
import json

from rest_framework import serializers

from console.iam.models import AccessKey, Policy


def _date(value):
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


# Requests --------------------------------------------------------------------------------------
class CreateUserRequest(serializers.Serializer):
    UserName = serializers.CharField(max_length=64)
    DisplayName = serializers.CharField(max_length=128, required=False, allow_blank=True, default="")
    Comments = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    Password = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False,
                                     help_text="Console password; omit for an API-only user.")


class UpdateUserRequest(serializers.Serializer):
    DisplayName = serializers.CharField(max_length=128, required=False, allow_blank=True)
    Comments = serializers.CharField(max_length=255, required=False, allow_blank=True)
    Password = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False,
                                     help_text="New console password; empty removes console sign-in.")


class CreateAccessKeyRequest(serializers.Serializer):
    UserName = serializers.CharField(max_length=64, required=False, allow_blank=True,
                                     help_text="RAM user; omit for the main account's own key.")


class UpdateAccessKeyRequest(serializers.Serializer):
    Status = serializers.ChoiceField(choices=AccessKey.Status.values)


class PolicyDocumentField(serializers.JSONField):
    """A policy document given as a JSON object or as JSON text (as the RAM API takes it)."""

    def to_internal_value(self, data):
        return data if isinstance(data, str) else json.dumps(data)


class CreatePolicyRequest(serializers.Serializer):
    PolicyName = serializers.CharField(max_length=128)
    Description = serializers.CharField(max_length=1024, required=False, allow_blank=True, default="")
    PolicyDocument = PolicyDocumentField()


class UpdatePolicyRequest(serializers.Serializer):
    Description = serializers.CharField(max_length=1024, required=False, allow_blank=True)
    PolicyDocument = PolicyDocumentField(required=False)


class AttachPolicyRequest(serializers.Serializer):
    PolicyName = serializers.CharField(max_length=128)
    PolicyType = serializers.ChoiceField(choices=Policy.Type.values, required=False)


class AuditLogQuery(serializers.Serializer):
    PageNumber = serializers.IntegerField(min_value=1, default=1)
    PageSize = serializers.IntegerField(min_value=1, max_value=100, default=50)
    Operation = serializers.CharField(required=False)
    UserName = serializers.CharField(required=False, help_text="Actor, e.g. alice@<account uid>.")


# Responses -------------------------------------------------------------------------------------
def user_data(ram_user) -> dict:
    return {
        "UserName": ram_user.name,
        "UserPrincipalName": ram_user.login_name,
        "DisplayName": ram_user.display_name,
        "Comments": ram_user.comments,
        "ConsoleLogin": ram_user.user.has_usable_password(),
        "CreateDate": _date(ram_user.created),
        "UpdateDate": _date(ram_user.updated),
    }


def access_key_data(access_key) -> dict:
    return {
        "AccessKeyId": access_key.access_key_id,
        "UserName": access_key.user.username,
        "Status": access_key.status,
        "CreateDate": _date(access_key.created),
        "LastUsedDate": _date(access_key.last_used),
    }


def policy_data(policy) -> dict:
    return {
        "PolicyName": policy.name,
        "PolicyType": policy.policy_type,
        "Description": policy.description,
        "PolicyDocument": policy.document,
        "AttachmentCount": getattr(policy, "attachment_count", None),
        "CreateDate": _date(policy.created),
        "UpdateDate": _date(policy.updated),
    }


def audit_data(entry) -> dict:
    return {
        "EventId": entry.pk,
        "EventTime": _date(entry.created),
        "AccountId": entry.account.uid,
        "UserName": entry.actor,
        "AccessKeyId": entry.access_key_id,
        "Operation": entry.operation,
        "Target": entry.target,
        "Result": entry.result,
        "StatusCode": entry.status_code,
        "RequestId": entry.request_id,
        "SourceIp": entry.source_ip,
    }
