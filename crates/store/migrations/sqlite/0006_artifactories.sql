-- Registries other than the built-in one (Facets' "others" artifactories): wharf push can copy
-- into them. The control plane hands their credentials to pipelines allowed to push
-- (CLI_ARTIFACT_PUSH), as Facets does, so the password is kept, never listed.
CREATE TABLE artifactories (
    name       TEXT PRIMARY KEY,
    uri        TEXT NOT NULL,
    username   TEXT NOT NULL,
    password   TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
