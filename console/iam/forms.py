"""Console forms for RAM pages; validation defers to the same domain code the API uses."""
import json

from django import forms
from django.core.exceptions import ValidationError

from console.iam import policies
from console.iam.errors import InvalidParameter

POLICY_TEMPLATE = json.dumps({
    "Version": "1",
    "Statement": [{"Effect": "Allow", "Action": ["eas:ListInstance", "eas:ReadInstance"], "Resource": "*"}],
}, indent=2)


class RamUserCreateForm(forms.Form):
    user_name = forms.CharField(label="Login name", max_length=64,
                                help_text="Letters, digits, '.', '_' and '-'. Signs in as <name>@<account uid>.")
    display_name = forms.CharField(max_length=128, required=False)
    comments = forms.CharField(max_length=255, required=False)
    password = forms.CharField(widget=forms.PasswordInput, required=False,
                               help_text="Leave empty for a user that only uses AccessKeys.")


class RamUserUpdateForm(forms.Form):
    display_name = forms.CharField(max_length=128, required=False)
    comments = forms.CharField(max_length=255, required=False)
    password = forms.CharField(widget=forms.PasswordInput, required=False, label="New console password",
                               help_text="Leave empty to keep the current one.")
    disable_console_login = forms.BooleanField(required=False)


class PolicyForm(forms.Form):
    name = forms.CharField(label="Policy name", max_length=128)
    description = forms.CharField(max_length=1024, required=False)
    document = forms.CharField(label="Policy document", widget=forms.Textarea(attrs={"rows": 18, "cols": 80}),
                               initial=POLICY_TEMPLATE)

    def clean_document(self):
        try:
            return policies.parse_document(self.cleaned_data["document"])
        except InvalidParameter as exc:
            raise ValidationError([ValidationError(p) for p in exc.problems]) from None


class AttachPolicyForm(forms.Form):
    policy = forms.ChoiceField(label="Policy")

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["policy"].choices = [
            (f"{p.policy_type}:{p.name}", f"{p.name} ({p.policy_type})")
            for p in policies.visible_policies(account)
        ]
