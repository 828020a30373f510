-- Every registration's audit entry, written by the database in the same statement as the
-- build: registration is the hot path, and one statement is a third of the round trips of an
-- explicit transaction with two inserts. Other actions write their entries from the code.
CREATE FUNCTION artifacts_audit_register() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_log (id, performed_by, performed_at, entity, entity_action, target,
                           metadata, cluster_id, cluster_name, stack_name)
    VALUES (NEW.id || 'r', NEW.created_by, NEW.created_at, 'ARTIFACT', 'ARTIFACT_REGISTER',
            NEW.id,
            json_build_object('ciName', NEW.application_name, 'artifactUri', NEW.artifact_uri,
                              'externalId', NEW.external_id,
                              'routedTo', CASE WHEN NEW.classified
                                               THEN COALESCE(NEW.cluster_name, NEW.release_stream) END,
                              'ruleName', NEW.applied_rule_name)::text,
            NEW.cluster_id, NEW.cluster_name, NEW.project);
    RETURN NEW;
END
$$;
CREATE TRIGGER artifacts_audit_register AFTER INSERT ON artifacts
    FOR EACH ROW WHEN (NEW.origin = 'register') EXECUTE FUNCTION artifacts_audit_register();
