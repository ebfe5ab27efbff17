"""`eascmd`: the command-line client of the platform, shaped like PAI-EAS's own (seed 6.2).

It talks only to the REST API (`/api/v2/…`), signing every request with the user's AccessKey
(ACS3-HMAC-SHA256, `console.iam.signing`), so it runs on any machine that reaches the console
and needs neither Django settings nor the database.
"""
