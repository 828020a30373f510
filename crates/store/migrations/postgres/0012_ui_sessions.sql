-- Web UI sessions (`/ui/`): one row per signed-in browser. Only the SHA-256 of the session id
-- (the cookie's value) is kept, never the id itself. A session names the token it was opened
-- with, and ends with it (revoked or expired), or at `expires_at`, or on sign-out. `csrf` is
-- the synchronizer token every form of that session carries.
CREATE TABLE ui_sessions (
    id_hash    TEXT PRIMARY KEY,
    username   TEXT NOT NULL,
    token_id   TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX ui_sessions_by_expiry ON ui_sessions (expires_at);
