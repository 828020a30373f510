-- Where a build sits, by name, written by the code beside the bucket (one rule, in
-- wharf-store's model), so the queries that filter or group by it need no copy of the rule.
ALTER TABLE artifacts ADD COLUMN routed_to TEXT;
UPDATE artifacts SET routed_to = CASE WHEN classified THEN COALESCE(cluster_name, release_stream) END;
CREATE INDEX artifacts_by_route ON artifacts (ci_id, routed_to);

-- A registration's audit entry is written by the domain, in the registration's transaction,
-- like every other entry (the trigger kept a second copy of the routed-to rule).
DROP TRIGGER artifacts_audit_register ON artifacts;
DROP FUNCTION artifacts_audit_register();
