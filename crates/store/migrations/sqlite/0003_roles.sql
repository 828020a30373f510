-- Roles carry Facets permission names; a user holds one role per project ('*' = every project).
-- The built-in roles are written by the server on every start (permissions.rs).
CREATE TABLE roles (
    name        TEXT PRIMARY KEY,
    permissions TEXT NOT NULL,
    built_in    BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE role_bindings (
    username TEXT NOT NULL,
    project  TEXT NOT NULL,
    role     TEXT NOT NULL REFERENCES roles(name),
    PRIMARY KEY (username, project)
);
