-- A push credential lives only as long as the token that obtained it: revoking the token (or
-- letting it expire) stops the credential too. NULL: obtained by the in-memory admin, whose
-- credential ends with the process's admin.
ALTER TABLE registry_credentials ADD COLUMN token_id TEXT;
CREATE INDEX registry_credentials_by_owner ON registry_credentials (owner);
CREATE INDEX registry_uploads_by_age ON registry_uploads (created_at);
-- Credentials issued before this change are tied to no token: they end now (each push asks
-- for a new one).
DELETE FROM registry_credentials;
