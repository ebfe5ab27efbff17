"""OpenAPI description of AccessKey signatures, so every API view's schema names its security."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class AcsSignatureScheme(OpenApiAuthenticationExtension):
    target_class = "console.iam.api.authentication.AcsSignatureAuthentication"
    name = "AcsSignatureV3"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Alibaba Cloud V3 signature: `ACS3-HMAC-SHA256 Credential=<AccessKeyId>,"
                           "SignedHeaders=...,Signature=...` with x-acs-date and x-acs-signature-nonce.",
        }
