"""The overview: resource-group summary and cards, and the table of services (seed 5.3, 6.1)."""
from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import render

from console.iam.authz import is_allowed
from frontend import tables
from frontend.views.common import console_page
from resourcegroups import groups as group_domain
from resourcegroups.models import ChargeType
from services.models import Service

PAGE_SIZE = 50
MAX_CARDS = 6


@console_page
def overview(request, principal):
    account = principal.account
    context = {
        "can_list_services": is_allowed(principal, "ListServices"),
        "can_list_groups": is_allowed(principal, "ListResources"),
        "can_buy": is_allowed(principal, "CreateResource"),
        "can_create": is_allowed(principal, "CreateService"),
        "query": request.GET.get("q", "").strip(),
        "status": request.GET.get("status", ""),
        "statuses": Service.Status.values,
        "region": settings.EAS_REGION,
    }
    if context["can_list_groups"]:
        dedicated = group_domain.dedicated_groups(account)
        context["group_counts"] = dedicated.aggregate(
            total=Count("id"), prepaid=Count("id", filter=Q(charge_type=ChargeType.PREPAID)),
            postpaid=Count("id", filter=Q(charge_type=ChargeType.POSTPAID)))
        context["cards"] = tables.group_cards(principal, dedicated, limit=MAX_CARDS)
    if context["can_list_services"]:
        services = Service.objects.filter(account=account).order_by("-created", "-id")
        if context["query"]:
            services = services.filter(name__icontains=context["query"])
        if context["status"]:
            services = services.filter(status=context["status"])
        page = Paginator(services, PAGE_SIZE).get_page(request.GET.get("page"))
        context["page"] = page
        context["rows"] = tables.service_rows(principal, list(page))
        context["refresh"] = any(row.transitional for row in context["rows"])
    template = "frontend/_service_table.html" if request.GET.get("fragment") == "services" else "frontend/overview.html"
    return render(request, template, context)

