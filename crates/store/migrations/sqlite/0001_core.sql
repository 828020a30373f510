-- The core of the reference control plane: users, projects, routing, builds.
CREATE TABLE users (
    id         TEXT PRIMARY KEY,
    username   TEXT NOT NULL UNIQUE,
    admin      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TEXT NOT NULL
);

-- Personal access tokens, stored only as SHA-256 hashes.
CREATE TABLE tokens (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id),
    token_hash TEXT NOT NULL UNIQUE,
    name       TEXT,
    created_at TEXT NOT NULL,
    expires_at TEXT
);

CREATE TABLE projects (
    name              TEXT PRIMARY KEY,
    registration_type TEXT,
    ci_system         TEXT,
    created_at        TEXT NOT NULL
);

CREATE TABLE release_streams (
    project     TEXT NOT NULL REFERENCES projects(name),
    name        TEXT NOT NULL,
    description TEXT,
    prod        BOOLEAN NOT NULL DEFAULT FALSE,
    created_by  TEXT,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (project, name)
);

CREATE TABLE environments (
    id             TEXT PRIMARY KEY,
    project        TEXT NOT NULL REFERENCES projects(name),
    name           TEXT NOT NULL,
    release_stream TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    UNIQUE (project, name)
);

CREATE TABLE ci_integrations (
    id                TEXT PRIMARY KEY,
    project           TEXT NOT NULL REFERENCES projects(name),
    name              TEXT NOT NULL,
    registration_type TEXT NOT NULL,
    description       TEXT,
    artifactory       TEXT,
    created_by        TEXT,
    created_at        TEXT NOT NULL,
    UNIQUE (project, name)
);

CREATE TABLE routing_rules (
    id                TEXT PRIMARY KEY,
    project           TEXT NOT NULL REFERENCES projects(name),
    rule_name         TEXT NOT NULL,
    registration_type TEXT NOT NULL,
    is_default        BOOLEAN NOT NULL DEFAULT FALSE,
    ci_system         TEXT,
    criteria          TEXT NOT NULL,
    created_by        TEXT,
    created_at        TEXT NOT NULL
);
CREATE UNIQUE INDEX routing_rules_one_default
    ON routing_rules (project, registration_type) WHERE is_default;

CREATE TABLE workflows (
    id                TEXT PRIMARY KEY,
    project           TEXT NOT NULL REFERENCES projects(name),
    name              TEXT NOT NULL,
    registration_type TEXT NOT NULL,
    is_default        BOOLEAN NOT NULL DEFAULT FALSE,
    hierarchies       TEXT NOT NULL,
    created_at        TEXT NOT NULL
);
CREATE UNIQUE INDEX workflows_one_default
    ON workflows (project, registration_type) WHERE is_default;

-- One registered build in one bucket. `origin` is how it got there (register, promote, attach);
-- only registrations are idempotent by (CI, external id).
CREATE TABLE artifacts (
    id                TEXT PRIMARY KEY,
    ci_id             TEXT NOT NULL REFERENCES ci_integrations(id),
    project           TEXT NOT NULL,
    application_name  TEXT NOT NULL,
    artifact_uri      TEXT NOT NULL,
    artifactory       TEXT NOT NULL,
    external_id       TEXT,
    description       TEXT,
    metadata          TEXT NOT NULL,
    register_type     TEXT NOT NULL,
    register_value    TEXT NOT NULL,
    registration_type TEXT NOT NULL,
    cluster_id        TEXT,
    cluster_name      TEXT,
    release_stream    TEXT,
    classified        BOOLEAN NOT NULL,
    applied_rule_id   TEXT,
    applied_rule_name TEXT,
    promoted          BOOLEAN NOT NULL DEFAULT FALSE,
    origin            TEXT NOT NULL,
    repository_name   TEXT,
    tag               TEXT,
    created_by        TEXT NOT NULL,
    created_at        TEXT NOT NULL
);
CREATE UNIQUE INDEX artifacts_idempotency
    ON artifacts (ci_id, external_id) WHERE external_id IS NOT NULL AND origin = 'register';
CREATE INDEX artifacts_by_ci ON artifacts (ci_id, created_at);
