"""Template tags of the console pages."""
from django import template

from console.iam.authz import is_allowed

register = template.Library()


@register.simple_tag
def allowed(principal, operation: str) -> bool:
    """`{% allowed principal "CreateService" as can_create %}`: whether a link or button may show."""
    return principal is not None and is_allowed(principal, operation)
