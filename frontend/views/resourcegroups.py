"""Dedicated resource groups (seed 3, 5.3, 5.4): list, purchase, detail and the group dialogs.

Pages call the domain modules of resourcegroups (orders, scaling, groups, dlink) with the same
operations and permission checks as the resource API, finance permission included for buying.
"""
from django.conf import settings
from django.contrib import messages
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from console.iam.authz import authorize, is_allowed
from console.iam.errors import ApiError, InvalidParameter
from frontend import tables
from frontend.forms import (
    BuyGroupForm,
    DirectLinkForm,
    GroupSettingsForm,
    MachineCountForm,
    PostpaidCountForm,
    RenewForm,
    machine_type_label,
)
from frontend.views.common import console_page, finished, group_permissions, render_dialog
from resourcegroups import billing, catalog, dlink, groups, hooks, orders, scaling
from resourcegroups.models import Bill, ChargeType, DirectLink, Order, Price, ResourceGroup

CHARGES = {"prepaid": ChargeType.PREPAID, "postpaid": ChargeType.POSTPAID}
TABS = ("machines", "services", "orders", "bills")


def find_group(principal, group_id: str, operation: str) -> ResourceGroup:
    """The caller's dedicated group with its usage totals, authorized for `operation`."""
    group = groups.with_usage(groups.dedicated_groups(principal.account).filter(group_id=group_id)) \
        .select_related("account").first()
    if group is None:
        raise groups.not_found(group_id)
    authorize(principal, operation, group.arn)
    return group


def _detail_url(group: ResourceGroup) -> str:
    return reverse("resourcegroups:detail", args=[group.group_id])


@console_page
def group_list(request, principal):
    authorize(principal, "ListResources")
    dedicated = groups.dedicated_groups(principal.account)
    return render(request, "frontend/resourcegroups/list.html", {
        "cards": tables.group_cards(principal, dedicated),
        "counts": dedicated.aggregate(total=Count("id"), prepaid=Count("id", filter=Q(charge_type=ChargeType.PREPAID)),
                                      postpaid=Count("id", filter=Q(charge_type=ChargeType.POSTPAID))),
        "can_buy": is_allowed(principal, "CreateResource"),
    })


@console_page
def buy(request, principal, charge):
    """购买 a prepaid (包年包月) or postpaid (计时付费) group; the order takes free machines."""
    charge_type = CHARGES.get(charge)
    if charge_type is None:
        raise InvalidParameter("Buy a prepaid or a postpaid resource group.")
    authorize(principal, "CreateResource")
    form = BuyGroupForm(request.POST or None, charge_type=charge_type, initial={"region": settings.EAS_REGION})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                order = orders.buy(principal.account, region=data["region"], charge_type=charge_type,
                                   machine_type=data["machine_type"], count=data["count"],
                                   months=data.get("months") or 1, auto_renew=data.get("auto_renew", False))
                if data["name"]:
                    groups.rename(order.group, data["name"])
            except ApiError as exc:
                form.add_error(None, exc.message)
                request.eas_error_code, status = exc.code, exc.status
            else:
                messages.success(request, f"Order {order.order_id} placed: {order.count} × {order.machine_type}. "
                                          "Machines are being assigned to the group.")
                return redirect(_detail_url(order.group))
        else:
            status = 400
    return render(request, "frontend/resourcegroups/buy.html", {
        "form": form, "charge": charge, "prepaid": charge_type == ChargeType.PREPAID,
        "types": _offers(charge_type), "wallet": billing.wallet_of(principal.account),
    }, status=status)


def _offers(charge_type: str) -> list[dict]:
    """The machine types on sale this way, with their free stock here and their unit price."""
    kind = Price.Kind.PREPAID_MONTH if charge_type == ChargeType.PREPAID else Price.Kind.POSTPAID_HOUR
    prices = dict(Price.objects.filter(kind=kind).values_list("machine_type", "unit_price"))
    return [{"name": t["name"], "label": machine_type_label(t), "stock": orders.stock(settings.EAS_REGION, t["name"]),
             "price": prices.get(t["name"]), "unit": "month" if charge_type == ChargeType.PREPAID else "hour"}
            for t in catalog.MACHINE_TYPES if charge_type in t["charge_types"]]


@console_page
def detail(request, principal, group_id):
    group = find_group(principal, group_id, "DescribeResource")
    can = group_permissions(principal, group)
    tab = request.GET.get("tab") if request.GET.get("tab") in TABS else "machines"
    card = tables.group_cards(principal, groups.dedicated_groups(principal.account).filter(pk=group.pk))[0]
    context = {"group": group, "can": can, "tab": tab, "card": card,
               "dlink": DirectLink.objects.filter(group=group).first()}
    if tab == "machines" and can["machines"]:
        context["machines"] = group.machines.order_by("assigned_at", "pk")
    elif tab == "services" and can["services"]:
        context["services"] = hooks.services_of(group)
    elif tab == "orders" and can["orders"]:
        context["orders"] = Order.objects.filter(group=group)[:200]
    elif tab == "bills" and can["orders"]:
        context["bills"] = Bill.objects.filter(group=group)[:200]
    return render(request, "frontend/resourcegroups/detail.html", context)


def _dialog(request, principal, group_id, *, operations: tuple[str, ...], form_class, perform, title: str,
            intro: str, submit: str, initial=None, danger: bool = False, form_kwargs=None):
    """A group dialog: authorize, validate, call the domain, and show its error in the dialog."""
    group = find_group(principal, group_id, "DescribeResource")
    form = form_class(request.POST or None, initial=initial or {}, **(form_kwargs or {}))
    status = 200
    if request.method == "POST":
        for operation in operations:
            authorize(principal, operation, group.arn)
        if form.is_valid():
            try:
                message = perform(group, form.cleaned_data)
            except ApiError as exc:
                form.add_error(None, exc.message)
                request.eas_error_code, status = exc.code, exc.status
            else:
                return finished(request, message, _detail_url(group))
        else:
            status = 400
    return render_dialog(request, "frontend/dialogs/group_form.html", {
        "group": group, "form": form, "title": title, "intro": intro, "submit": submit, "danger": danger,
        "action": request.path,
    }, status)


def _order_message(order: Order) -> str:
    return f"Order {order.order_id} placed for {order.count} machine{'s' if order.count != 1 else ''}."


@console_page
def scale(request, principal, group_id):
    """扩容: formal machines for a prepaid group (charged until it expires), or more postpaid ones."""
    def perform(group, data):
        return _order_message(orders.add_machines(group, count=data["count"], charge_type=group.charge_type))

    return _dialog(request, principal, group_id, operations=("CreateResourceInstances", "PayResourceOrder"),
                   form_class=MachineCountForm, perform=perform, title="Scale the resource group",
                   intro="New machines of the group's type are taken from the free machines of the region. "
                         "Prepaid machines are charged until the group expires.", submit="Buy now")


@console_page
def temporary(request, principal, group_id):
    """临时扩容: pay-as-you-go machines in a prepaid group, released at any time."""
    def perform(group, data):
        if not group.is_prepaid:
            raise InvalidParameter("Temporary machines are for prepaid resource groups; scale a postpaid group instead.")
        return _order_message(orders.add_machines(group, count=data["count"], charge_type=ChargeType.POSTPAID))

    return _dialog(request, principal, group_id, operations=("CreateResourceInstances", "PayResourceOrder"),
                   form_class=MachineCountForm, perform=perform, title="Temporary scale-out",
                   intro="Temporary machines are billed by the hour until you release them from the machine list; "
                         "otherwise they stop with the group.", submit="Confirm scale-out")


@console_page
def scale_down(request, principal, group_id):
    """缩容/停用 of a postpaid group: keep N machines; 0 stops the group."""
    def perform(group, data):
        order = scaling.scale_postpaid(group, data["count"])
        return f"The group now keeps {data['count']} machines (order {order.order_id})."

    group = find_group(principal, group_id, "DescribeResource")
    return _dialog(request, principal, group_id, operations=("UpdateResource",), form_class=PostpaidCountForm,
                   perform=perform, title="Scale down or stop", initial={"count": max(group.instance_count - 1, 0)},
                   intro=f"The group has {group.instance_count} machines. Machines that stopped reporting are "
                         "released first, then the most recently added. With 0 machines the group stops and "
                         "billing stops.", submit="Confirm", danger=True)


@console_page
def renew(request, principal, group_id):
    """服务续费 of a prepaid group; an expired group renewed within 15 days runs again."""
    def perform(group, data):
        order = orders.renew(group, data["months"])
        group.refresh_from_db()
        return f"Renewed until {group.expires_at:%Y-%m-%d %H:%M} UTC (order {order.order_id}, {order.amount})."

    return _dialog(request, principal, group_id, operations=("RenewResource",), form_class=RenewForm,
                   perform=perform, title="Renew the resource group",
                   intro="The group's formal machines are renewed for the chosen period.", submit="Pay and renew")


@console_page
def group_settings(request, principal, group_id):
    def perform(group, data):
        groups.rename(group, data["name"])
        if group.is_prepaid and data["auto_renew"] != group.auto_renew:
            group.auto_renew = data["auto_renew"]
            group.save(update_fields=["auto_renew", "updated"])
        return "Resource group settings saved."

    group = find_group(principal, group_id, "DescribeResource")
    return _dialog(request, principal, group_id, operations=("UpdateResource",), form_class=GroupSettingsForm,
                   perform=perform, title="Resource group settings", initial={"name": group.name,
                                                                              "auto_renew": group.auto_renew},
                   intro="The name is what the deployment wizard lists.", submit="Save")


@console_page
def delete(request, principal, group_id):
    """删除 a stopped postpaid group without services."""
    group = find_group(principal, group_id, "DescribeResource")
    if request.method == "POST":
        authorize(principal, "DeleteResource", group.arn)
        try:
            groups.delete(group)
        except ApiError as exc:
            request.eas_error_code = exc.code
            return render_dialog(request, "frontend/dialogs/group_delete.html", {"group": group, "error": exc.message},
                                 status=exc.status)
        return finished(request, f"Resource group {group.name} was deleted.", reverse("resourcegroups:list"),
                        go_back=False)
    return render_dialog(request, "frontend/dialogs/group_delete.html", {"group": group})


@require_POST
@console_page
def release_machine(request, principal, group_id, instance_id):
    """释放 a temporary machine (prepaid group) or a postpaid machine."""
    group = find_group(principal, group_id, "DeleteResourceInstances")
    scaling.remove_machines(group, [instance_id])
    return finished(request, f"Machine {instance_id} was released.", _detail_url(group))


@console_page
def direct_connection(request, principal, group_id):
    """VPC direct connection (VPC高速直连): switch it on with the user's vSwitch and security group."""
    group = find_group(principal, group_id, "DescribeResourceDLink")
    link = DirectLink.objects.filter(group=group).first()
    initial = {}
    if link:
        initial = {"vpc_id": link.vpc_id, "vswitch_id": link.vswitch_id, "security_group_id": link.security_group_id,
                   "aux_vswitch_ids": ", ".join(link.aux_vswitch_ids),
                   "destination_cidrs": ", ".join(link.destination_cidrs)}
    form = DirectLinkForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        deleting = request.POST.get("action") == "delete"
        operation = "DeleteResourceDLink" if deleting else "UpdateResourceDLink" if link else "CreateResourceDLink"
        authorize(principal, operation, group.arn)
        try:
            if deleting:
                dlink.delete(group)
                return finished(request, "VPC direct connection switched off.", _detail_url(group))
            if form.is_valid():
                perform = dlink.update if link else dlink.create
                _, warnings = perform(group, form.api_fields())
                for warning in warnings:
                    messages.warning(request, warning)
                return finished(request, "VPC direct connection saved.", _detail_url(group))
            status = 400
        except ApiError as exc:
            form.add_error(None, exc.message)
            request.eas_error_code, status = exc.code, exc.status
    return render_dialog(request, "frontend/dialogs/dlink.html", {"group": group, "form": form, "link": link}, status)
