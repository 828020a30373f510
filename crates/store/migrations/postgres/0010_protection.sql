-- Protected stages (an environment or release stream of a project): who may write straight
-- into them, and how many approvals a promotion into them needs. `rules` is the project
-- file's `[protection.<stage>]` table as JSON.
CREATE TABLE protections (
    project TEXT NOT NULL,
    stage   TEXT NOT NULL,
    rules   TEXT NOT NULL,
    PRIMARY KEY (project, stage)
);

-- A promotion (or rollback) into a protected stage, waiting for approvals. Pinned to the
-- source build's image digest. `status`: PENDING, COMPLETED, REJECTED or LAPSED.
CREATE TABLE promotion_requests (
    id           TEXT PRIMARY KEY,
    project      TEXT NOT NULL,
    ci_id        TEXT NOT NULL,
    kind         TEXT NOT NULL,
    source_id    TEXT NOT NULL,
    stage        TEXT NOT NULL,
    digest       TEXT NOT NULL,
    required     BIGINT NOT NULL,
    status       TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    reason       TEXT,
    result_id    TEXT
);
-- One open request per service and stage: a newer one supersedes it.
CREATE UNIQUE INDEX promotion_requests_one_pending ON promotion_requests (ci_id, stage)
    WHERE status = 'PENDING';
CREATE INDEX promotion_requests_by_project ON promotion_requests (project, status);

-- Who approved a request, for which digest, when (one row per approver: twice counts once).
CREATE TABLE approvals (
    request_id  TEXT NOT NULL,
    username    TEXT NOT NULL,
    digest      TEXT NOT NULL,
    approved_at TEXT NOT NULL,
    PRIMARY KEY (request_id, username)
);
