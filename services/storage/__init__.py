"""Model storage (SPEC S2): where model and processor files come from and how they reach a machine.

- `store`: the embedded object store (`oss://eas-model-<region>/...` on the control machine's disk).
- `repository`: each tenant's model repository inside it (what `eascmd upload` writes).
- `s3`, `http`: remote sources (S3-compatible object stores such as OSS, and plain HTTP(S) URLs).
- `archives`: safe extraction of tar/zip archives and the tar stream of a folder.
- `cache`: the per-machine cache of fetched models, keyed by content digest.
- `fetch`: one call that turns any model source into a local directory (`fetch(uri)`).
- `presign`: time-limited URLs through which remote node agents download embedded-store objects.
"""
