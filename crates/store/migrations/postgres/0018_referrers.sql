-- OCI 1.1 referrers (issue 30): each manifest that names a `subject`, and each manifest listed
-- in a `sha256-<hex>` tag-scheme index, indexed by that subject's digest, with what the
-- referrers API answers for it (media type, size, artifactType, annotations).
CREATE TABLE oci_referrers (
    repository    TEXT NOT NULL,
    subject       TEXT NOT NULL,
    digest        TEXT NOT NULL,
    media_type    TEXT NOT NULL,
    size          BIGINT NOT NULL,
    artifact_type TEXT,
    annotations   TEXT,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (repository, subject, digest)
);
