-- Events and webhooks (issue 31). An event is written in the same transaction as the change it
-- tells of, with one delivery row per subscription that wants it (the outbox); a worker in
-- every replica sends due deliveries, one subscription at a time under a lease.
CREATE TABLE webhooks (
    id                    TEXT PRIMARY KEY,
    project               TEXT NOT NULL REFERENCES projects(name),
    name                  TEXT NOT NULL,
    url                   TEXT NOT NULL,
    events                TEXT NOT NULL,
    services              TEXT NOT NULL DEFAULT '[]',
    stages                TEXT NOT NULL DEFAULT '[]',
    secret_env            TEXT NOT NULL,
    secret                TEXT NOT NULL,
    previous_secret       TEXT,
    previous_until        TEXT,
    allow_private_network BOOLEAN NOT NULL DEFAULT FALSE,
    disabled_at           TEXT,
    disabled_reason       TEXT,
    failing_since         TEXT,
    lease_owner           TEXT,
    lease_until           TEXT,
    created_at            TEXT NOT NULL,
    UNIQUE (project, name)
);

CREATE TABLE events (
    seq     BIGSERIAL PRIMARY KEY,
    id      TEXT NOT NULL UNIQUE,
    project TEXT NOT NULL,
    type    TEXT NOT NULL,
    subject TEXT NOT NULL,
    time    TEXT NOT NULL,
    data    TEXT NOT NULL
);
CREATE INDEX events_by_project ON events (project, seq);

CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    webhook_id      TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_seq       BIGINT NOT NULL REFERENCES events(seq),
    status          TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_status     BIGINT,
    last_error      TEXT,
    last_attempt_at TEXT,
    created_at      TEXT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (webhook_id, status, event_seq);
