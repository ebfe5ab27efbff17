"""Console pages for RAM: users, AccessKeys, policies and the audit log (main account only).

Writes go through the same domain functions and `authorize` calls as the API, so the audit
middleware records them the same way. A new AccessKey secret is rendered in the response to the
POST that created it and stored nowhere else.
"""
import json

from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse

from console.iam import accesskeys, accounts, audit, policies
from console.iam.api.views import access_key_of, ram_user_of
from console.iam.authz import authorize, ram_arn
from console.iam.errors import ApiError, InvalidParameter
from console.iam.forms import AttachPolicyForm, PolicyForm, RamUserCreateForm, RamUserUpdateForm
from console.iam.models import AccessKey, AuditEntry, RamUser
from frontend.views.common import console_page

KEY_ACTIONS = {
    "create_key": "CreateAccessKey",
    "disable_key": "UpdateAccessKey",
    "enable_key": "UpdateAccessKey",
    "delete_key": "DeleteAccessKey",
}


def _authorize(request, principal, operation: str, target: str = "") -> None:
    request.eas_operation = operation
    if target:
        audit.set_target(request, target)
    authorize(principal, operation)


def _render(request, principal, template: str, context: dict, status: int = 200):
    if status >= 400 and not getattr(request, "eas_error_code", None):
        request.eas_error_code = "InvalidParameter"
    return render(request, template, {"account": principal.account, "principal": principal, **context},
                  status=status)


def _key_action(request, principal, owner) -> dict:
    """Run an AccessKey form action; returns context for the page (the new secret, once)."""
    action = request.POST.get("action")
    if action not in KEY_ACTIONS:
        raise InvalidParameter(f"Unknown action {action!r}.")
    key_id = request.POST.get("access_key_id", "")
    _authorize(request, principal, KEY_ACTIONS[action], ram_arn(principal.account, "accesskey", key_id))
    if action == "create_key":
        access_key, secret = accesskeys.create_access_key(owner)
        audit.set_target(request, ram_arn(principal.account, "accesskey", access_key.access_key_id))
        return {"new_key": access_key, "new_secret": secret}
    access_key = access_key_of(principal, key_id)
    _, user = accesskeys.owner_of(owner)
    if access_key.user_id != user.pk:
        raise InvalidParameter("The AccessKey belongs to another user.")
    if action == "delete_key":
        access_key.delete()
    else:
        access_key.status = AccessKey.Status.INACTIVE if action == "disable_key" else AccessKey.Status.ACTIVE
        access_key.save(update_fields=["status"])
    return {}


@console_page
def user_list(request, principal):
    _authorize(request, principal, "ListUsers")
    form = RamUserCreateForm(request.POST or None)
    status = 200
    if request.method == "POST":
        _authorize(request, principal, "CreateUser",
                   ram_arn(principal.account, "user", request.POST.get("user_name", "")))
        if form.is_valid():
            try:
                ram_user = accounts.create_ram_user(
                    principal.account, form.cleaned_data["user_name"],
                    display_name=form.cleaned_data["display_name"], comments=form.cleaned_data["comments"],
                    password=form.cleaned_data["password"] or None)
                return redirect("iam:user", name=ram_user.name)
            except ApiError as exc:
                form.add_error(None, exc.message)
                request.eas_error_code, status = exc.code, exc.status
        else:
            status = 400
    users = RamUser.objects.filter(account=principal.account).select_related("user")
    return _render(request, principal, "iam/users.html", {"users": users, "form": form}, status)


@console_page
def user_detail(request, principal, name):
    _authorize(request, principal, "GetUser")
    ram_user = ram_user_of(principal, name)
    context = {}
    status = 200
    form = RamUserUpdateForm(initial={"display_name": ram_user.display_name, "comments": ram_user.comments})
    attach_form = AttachPolicyForm(account=principal.account)
    if request.method == "POST":
        action = request.POST.get("action")
        user_target = ram_arn(principal.account, "user", name)
        if action in KEY_ACTIONS:
            context.update(_key_action(request, principal, ram_user))
        elif action == "update":
            _authorize(request, principal, "UpdateUser", user_target)
            form = RamUserUpdateForm(request.POST)
            if form.is_valid():
                data = form.cleaned_data
                password = "" if data["disable_console_login"] else (data["password"] or None)
                accounts.update_ram_user(ram_user, display_name=data["display_name"],
                                         comments=data["comments"], password=password)
                return redirect("iam:user", name=name)
            status = 400
        elif action == "delete":
            _authorize(request, principal, "DeleteUser", user_target)
            accounts.delete_ram_user(ram_user)
            return redirect("iam:users")
        elif action == "attach":
            _authorize(request, principal, "AttachPolicyToUser", user_target)
            attach_form = AttachPolicyForm(request.POST, account=principal.account)
            if attach_form.is_valid():
                policy_type, _, policy_name = attach_form.cleaned_data["policy"].partition(":")
                policies.attach(policies.find_policy(principal.account, policy_name, policy_type), ram_user)
                return redirect("iam:user", name=name)
            status = 400
        elif action == "detach":
            _authorize(request, principal, "DetachPolicyFromUser", user_target)
            policy = policies.find_policy(principal.account, request.POST.get("policy_name", ""),
                                          request.POST.get("policy_type") or None)
            policies.detach(policy, ram_user)
            return redirect("iam:user", name=name)
        else:
            raise InvalidParameter(f"Unknown action {action!r}.")
    return _render(request, principal, "iam/user_detail.html", {
        "ram_user": ram_user,
        "keys": ram_user.user.access_keys.all(),
        "attachments": ram_user.attachments.select_related("policy"),
        "form": form,
        "attach_form": attach_form,
        "key_action_url": reverse("iam:user", kwargs={"name": name}),
        **context,
    }, status)


@console_page
def access_key_list(request, principal):
    """The main account's own AccessKeys."""
    _authorize(request, principal, "ListAccessKeys")
    context = _key_action(request, principal, principal.account) if request.method == "POST" else {}
    return _render(request, principal, "iam/access_keys.html", {
        "keys": principal.account.owner.access_keys.all(),
        "key_action_url": reverse("iam:access-keys"),
        **context,
    })


@console_page
def policy_list(request, principal):
    _authorize(request, principal, "ListPolicies")
    return _render(request, principal, "iam/policies.html",
                   {"policies": policies.visible_policies(principal.account)})


@console_page
def policy_create(request, principal):
    _authorize(request, principal, "ListPolicies")
    form = PolicyForm(request.POST or None)
    status = 200
    if request.method == "POST":
        _authorize(request, principal, "CreatePolicy",
                   ram_arn(principal.account, "policy", request.POST.get("name", "")))
        if form.is_valid():
            try:
                policy = policies.create_policy(principal.account, form.cleaned_data["name"],
                                                form.cleaned_data["document"], form.cleaned_data["description"])
                return redirect("iam:policy", name=policy.name)
            except ApiError as exc:
                form.add_error("name", exc.message)
                request.eas_error_code, status = exc.code, exc.status
        else:
            status = 400
    return _render(request, principal, "iam/policy_form.html", {"form": form, "creating": True}, status)


@console_page
def policy_detail(request, principal, name):
    _authorize(request, principal, "GetPolicy")
    policy = policies.find_policy(principal.account, name, request.GET.get("type") or None)
    initial = {"name": policy.name, "description": policy.description,
               "document": json.dumps(policy.document, indent=2)}
    form = PolicyForm(request.POST or None, initial=initial)
    for field in form.fields.values():
        # System policies are read-only; a custom policy keeps its name.
        field.disabled = field is form.fields["name"] or policy.account_id is None
    status = 200
    if request.method == "POST":
        target = ram_arn(principal.account, "policy", name)
        if request.POST.get("action") == "delete":
            _authorize(request, principal, "DeletePolicy", target)
            policies.delete_policy(policy)
            return redirect("iam:policies")
        _authorize(request, principal, "UpdatePolicy", target)
        if form.is_valid():
            policies.update_policy(policy, document=form.cleaned_data["document"],
                                   description=form.cleaned_data["description"])
            return redirect("iam:policy", name=name)
        status = 400
    return _render(request, principal, "iam/policy_form.html", {
        "form": form, "policy": policy, "attachments": policy.attachments.select_related("ram_user"),
    }, status)


@console_page
def audit_log(request, principal):
    _authorize(request, principal, "ListAuditLogs")
    entries = AuditEntry.objects.filter(account=principal.account)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return _render(request, principal, "iam/audit.html", {"page": page})
