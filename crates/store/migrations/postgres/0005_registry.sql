-- The built-in registry's index; blob and manifest bytes live on disk, content-addressed.
CREATE TABLE registry_blobs (
    repository TEXT NOT NULL,
    digest     TEXT NOT NULL,
    size       BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (repository, digest)
);

CREATE TABLE registry_manifests (
    repository TEXT NOT NULL,
    digest     TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size       BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (repository, digest)
);

-- What each manifest points to (layers, config, child manifests): deletion checks it.
CREATE TABLE registry_references (
    repository TEXT NOT NULL,
    manifest   TEXT NOT NULL,
    child      TEXT NOT NULL,
    PRIMARY KEY (repository, manifest, child)
);

CREATE TABLE registry_tags (
    repository TEXT NOT NULL,
    tag        TEXT NOT NULL,
    digest     TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (repository, tag)
);

CREATE TABLE registry_uploads (
    id         TEXT PRIMARY KEY,
    repository TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Short-lived credentials for one repository (pushCredentials); the password only hashed.
CREATE TABLE registry_credentials (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    repository    TEXT NOT NULL,
    owner         TEXT NOT NULL,
    expires_at    TEXT NOT NULL
);
