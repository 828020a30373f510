-- Build provenance (issue 30): the in-toto statement a registration sent, bound to the image
-- digest it is about, with how far it is to be believed ('verified-by-identity-token' when a
-- keyless login's verified claims confirmed it, else 'reported-by-the-client') and which of
-- its fields the claims confirmed. And the verified claims of a keyless login's token, which
-- a registration made with that token is checked against.
CREATE TABLE provenance (
    project        TEXT NOT NULL,
    digest         TEXT NOT NULL,
    statement      TEXT NOT NULL,
    predicate_type TEXT NOT NULL,
    builder_id     TEXT,
    verification   TEXT NOT NULL,
    checked        TEXT NOT NULL,
    build_id       TEXT NOT NULL,
    recorded_by    TEXT NOT NULL,
    recorded_at    TEXT NOT NULL,
    PRIMARY KEY (project, digest)
);

ALTER TABLE tokens ADD COLUMN identity_claims TEXT;
