"""Policy documents in the RAM JSON of the seeds: parsing, validation and evaluation.

A document is `{"Version": "1", "Statement": [{"Effect": "Allow"|"Deny", "Action": ...,
"Resource": ...}]}`; Action and Resource are a string or a list of strings and may use the
wildcards `*` (any run of characters) and `?` (one character). Actions compare case-insensitively,
resources exactly. Evaluation: an explicit Deny wins, then an Allow, else the request is denied.
"""
import functools
import json
import re
from dataclasses import dataclass

from django.db.models import Count, Q

from console.iam.errors import Conflict, Forbidden, InvalidParameter, NotFound
from console.iam.models import Policy, PolicyAttachment

EAS_PERMISSION_POINTS = (
    "eas:EditInstance",
    "eas:ListInstance",
    "eas:ReadInstance",
    "eas:OperateInstance",
    "eas:ListResourceGroup",
    "eas:ReadResourceGroup",
    "eas:OperateResourceGroup",
)
# Paying for an order; granted by the system policy AliyunFinanceConsoleFullAccess.
FINANCE_PERMISSION = "bss:PayOrder"

FINANCE_POLICY = "AliyunFinanceConsoleFullAccess"
SYSTEM_POLICIES = {
    FINANCE_POLICY: {
        "description": "Full access to billing: pay orders for dedicated resource groups.",
        "document": {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "bss:*", "Resource": "*"}]},
    },
    "AliyunPAIEASFullAccess": {
        "description": "Every EAS permission point on every service and resource group of the account.",
        "document": {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "eas:*", "Resource": "*"}]},
    },
    "AliyunPAIEASReadOnlyAccess": {
        "description": "List and read EAS services and resource groups.",
        "document": {
            "Version": "1",
            "Statement": [{"Effect": "Allow", "Action": ["eas:List*", "eas:Read*"], "Resource": "*"}],
        },
    },
}

MAX_DOCUMENT_CHARS = 6144
VERSION = "1"
EFFECTS = ("Allow", "Deny")
STATEMENT_KEYS = {"Effect", "Action", "Resource"}
ACTION_RE = re.compile(r"^(\*|[a-z0-9-]+:[A-Za-z0-9*?]+)$")
# acs:<service>:<region>:<account uid>:<relative id>; each part may be empty or use wildcards.
RESOURCE_RE = re.compile(r"^acs:[a-z0-9*?-]*:[a-z0-9*?-]*:[0-9*?]*:.+$")
EAS_RELATIVE_RE = re.compile(r"^(\*|(service|resourcegroup|\*)/[^/]+)$")


@functools.lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern:
    parts = (".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile("".join(parts), re.IGNORECASE if ignore_case else 0)


def action_matches(pattern: str, action: str) -> bool:
    return _glob(pattern, True).fullmatch(action) is not None


def resource_matches(pattern: str, resource: str) -> bool:
    return _glob(pattern, False).fullmatch(resource) is not None


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    policy: str = ""

    def applies_to(self, action: str, resource: str) -> bool:
        return any(action_matches(a, action) for a in self.actions) and any(
            resource_matches(r, resource) for r in self.resources
        )


def _as_list(value) -> list | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return value
    return None


def _check_action(where: str, action: str) -> list[str]:
    if not ACTION_RE.match(action):
        return [f"{where}: '{action}' is not an action such as 'eas:ReadInstance' or 'eas:*'."]
    if action.lower().startswith("eas:") and not any(action_matches(action, p) for p in EAS_PERMISSION_POINTS):
        return [f"{where}: '{action}' matches no EAS permission point ({', '.join(EAS_PERMISSION_POINTS)})."]
    return []


def _check_resource(where: str, resource: str) -> list[str]:
    if resource == "*":
        return []
    if not RESOURCE_RE.match(resource):
        return [f"{where}: '{resource}' is not '*' or a resource name like "
                "'acs:eas:<region>:<account uid>:service/<name>'."]
    service, relative = resource.split(":", 4)[1], resource.split(":", 4)[4]
    if service == "eas" and not EAS_RELATIVE_RE.match(relative):
        return [f"{where}: '{relative}' in '{resource}' must be 'service/<name>', "
                "'resourcegroup/<id>' or '*'."]
    return []


def validate_document(document) -> list[str]:
    """Every problem of a parsed document, one message each; empty when the document is valid."""
    if not isinstance(document, dict):
        return ["The policy document must be a JSON object with Version and Statement."]
    problems = [f"Unknown key '{key}' in the policy document; only Version and Statement are allowed."
                for key in document if key not in ("Version", "Statement")]
    if "Version" not in document:
        problems.append("Version is missing; use \"Version\": \"1\".")
    elif document["Version"] != VERSION:
        problems.append(f"Version must be \"1\", not {json.dumps(document['Version'])}.")
    statements = document.get("Statement")
    if statements is None:
        problems.append("Statement is missing; it must be a list of statements.")
        return problems
    if not isinstance(statements, list) or not statements:
        problems.append("Statement must be a non-empty list of statements.")
        return problems
    for index, statement in enumerate(statements, start=1):
        where = f"Statement {index}"
        if not isinstance(statement, dict):
            problems.append(f"{where} must be a JSON object with Effect, Action and Resource.")
            continue
        problems += [f"{where}: key '{key}' is not supported; use Effect, Action and Resource."
                     for key in statement if key not in STATEMENT_KEYS]
        effect = statement.get("Effect")
        if effect not in EFFECTS:
            problems.append(f"{where}: Effect must be \"Allow\" or \"Deny\", not {json.dumps(effect)}.")
        for key, check in (("Action", _check_action), ("Resource", _check_resource)):
            if key not in statement:
                problems.append(f"{where}: {key} is missing.")
                continue
            values = _as_list(statement[key])
            if not values:
                problems.append(f"{where}: {key} must be a string or a non-empty list of strings.")
                continue
            for value in values:
                if not isinstance(value, str):
                    problems.append(f"{where}: {key} entries must be strings, not {json.dumps(value)}.")
                else:
                    problems += check(f"{where} {key}", value)
    return problems


def parse_document(raw) -> dict:
    """A validated document from JSON text or an already-decoded object.

    Raises InvalidParameter (code MalformedPolicyDocument) whose `problems` lists each problem.
    """
    if isinstance(raw, str):
        if len(raw) > MAX_DOCUMENT_CHARS:
            _reject([f"The policy document is longer than {MAX_DOCUMENT_CHARS} characters."])
        try:
            document = json.loads(raw)
        except json.JSONDecodeError as exc:
            _reject([f"The policy document is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."])
    else:
        document = raw
        if len(json.dumps(document)) > MAX_DOCUMENT_CHARS:
            _reject([f"The policy document is longer than {MAX_DOCUMENT_CHARS} characters."])
    problems = validate_document(document)
    if problems:
        _reject(problems)
    return document


def _reject(problems: list[str]):
    error = InvalidParameter(" ".join(problems), code="MalformedPolicyDocument")
    error.problems = problems
    raise error


def statements_of(document: dict, policy: str = "") -> list[Statement]:
    return [
        Statement(
            effect=s["Effect"],
            actions=tuple(_as_list(s["Action"])),
            resources=tuple(_as_list(s["Resource"])),
            policy=policy,
        )
        for s in document["Statement"]
    ]


def evaluate(statements: list[Statement], action: str, resource: str) -> Statement | None:
    """The statement that decides `action` on `resource`: a matching Deny, else a matching Allow.

    None means no statement applies, which denies the request.
    """
    allow = None
    for statement in statements:
        if statement.applies_to(action, resource):
            if statement.effect == "Deny":
                return statement
            allow = allow or statement
    return allow


# Stored policies -------------------------------------------------------------------------------
POLICY_NAME_RE = re.compile(r"^[A-Za-z0-9-]{1,128}$")


def ensure_system_policies():
    """The built-in policies as rows (attachments point at them), kept equal to SYSTEM_POLICIES."""
    rows = {p.name: p for p in Policy.objects.filter(account__isnull=True)}
    for name, spec in SYSTEM_POLICIES.items():
        row = rows.get(name)
        if row is None:
            Policy.objects.get_or_create(
                account=None, name=name,
                defaults={"policy_type": Policy.Type.SYSTEM, "description": spec["description"],
                          "document": spec["document"]},
            )
        elif row.document != spec["document"] or row.description != spec["description"]:
            row.document, row.description = spec["document"], spec["description"]
            row.save(update_fields=["document", "description", "updated"])


def visible_policies(account):
    """System policies and the account's custom ones."""
    ensure_system_policies()
    return (Policy.objects.filter(Q(account=account) | Q(account__isnull=True))
            .annotate(attachment_count=Count("attachments")))


def find_policy(account, name: str, policy_type: str | None = None):
    """A custom policy of the account or a system policy; custom wins when the type is not given."""
    candidates = visible_policies(account).filter(name=name)
    if policy_type:
        candidates = candidates.filter(policy_type=policy_type)
    policy = sorted(candidates, key=lambda p: p.account_id is None)[:1]
    if not policy:
        raise NotFound(f"Policy {name} does not exist.", code="EntityNotExist.Policy")
    return policy[0]


def create_policy(account, name: str, document, description: str = ""):
    if not POLICY_NAME_RE.match(name or ""):
        raise InvalidParameter("PolicyName must be 1-128 characters of letters, digits and '-'.",
                               code="InvalidParameter.PolicyName")
    parsed = parse_document(document)
    if name in SYSTEM_POLICIES or Policy.objects.filter(account=account, name=name).exists():
        raise Conflict(f"Policy {name} already exists.", code="EntityAlreadyExists.Policy")
    return Policy.objects.create(account=account, name=name, description=description, document=parsed,
                                 policy_type=Policy.Type.CUSTOM)


def _require_custom(policy):
    if policy.account_id is None:
        raise Forbidden(f"System policy {policy.name} cannot be changed.", code="Forbidden.SystemPolicy")


def update_policy(policy, *, document=None, description: str | None = None):
    _require_custom(policy)
    if document is not None:
        policy.document = parse_document(document)
    if description is not None:
        policy.description = description
    policy.save()
    return policy


def delete_policy(policy):

    _require_custom(policy)
    if policy.attachments.exists():
        raise Conflict(f"Policy {policy.name} is attached to RAM users; detach it first.",
                       code="DeleteConflict.Policy.User")
    policy.delete()


def attach(policy, ram_user):
    _, created = PolicyAttachment.objects.get_or_create(policy=policy, ram_user=ram_user)
    if not created:
        raise Conflict(f"Policy {policy.name} is already attached to {ram_user.name}.",
                       code="EntityAlreadyExists.User.Policy")


def detach(policy, ram_user):
    deleted, _ = policy.attachments.filter(ram_user=ram_user).delete()
    if not deleted:
        raise NotFound(f"Policy {policy.name} is not attached to {ram_user.name}.",
                       code="EntityNotExist.User.Policy")
