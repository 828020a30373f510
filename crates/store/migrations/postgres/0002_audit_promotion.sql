-- Audit, promotion, per-CI routing, and users' roles.

-- Append-only: the triggers refuse every UPDATE and DELETE, whatever code runs.
CREATE TABLE audit_log (
    id            TEXT PRIMARY KEY,
    performed_by  TEXT NOT NULL,
    performed_at  TEXT NOT NULL,
    entity        TEXT NOT NULL,
    entity_action TEXT NOT NULL,
    target        TEXT,
    metadata      TEXT NOT NULL,
    cluster_id    TEXT,
    cluster_name  TEXT,
    stack_name    TEXT
);
CREATE INDEX audit_log_by_time ON audit_log (performed_at);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- A promotion registers the build again at the next stage; each build is promoted once.
ALTER TABLE artifacts ADD COLUMN promoted_from TEXT;
CREATE UNIQUE INDEX artifacts_one_promotion ON artifacts (promoted_from)
    WHERE promoted_from IS NOT NULL;

-- NONE: the CI follows no rule; INHERITED: the project's defaults; CUSTOM: its own.
ALTER TABLE ci_integrations ADD COLUMN mode TEXT NOT NULL DEFAULT 'INHERITED';
ALTER TABLE ci_integrations ADD COLUMN routing_rule_id TEXT;
ALTER TABLE ci_integrations ADD COLUMN workflow_id TEXT;
