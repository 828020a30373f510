-- Keyless CI login: a project's trust policies (the project file's `[[trust]]`, each as JSON
-- in `policy`), replaced whole when the file is applied.
CREATE TABLE trust_policies (
    project  TEXT NOT NULL,
    name     TEXT NOT NULL,
    position BIGINT NOT NULL,
    issuer   TEXT NOT NULL,
    policy   TEXT NOT NULL,
    PRIMARY KEY (project, name)
);

-- Identity tokens already exchanged, by issuer and `jti` (or the token's SHA-256 when it has
-- none), kept until they expire: a token is traded once, whichever replica sees it.
CREATE TABLE oidc_seen_tokens (
    issuer     TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (issuer, jti)
);
CREATE INDEX oidc_seen_tokens_by_expiry ON oidc_seen_tokens (expires_at);
