-- API tokens (switchyard.core.auth): the secret is never stored, only its
-- SHA-256; a token is looked up by that hash on each verification (cached
-- for a second by every service).
CREATE TABLE api_tokens (
    token_id     TEXT PRIMARY KEY,
    token_hash   BYTEA NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    project      TEXT NOT NULL,
    role         SMALLINT NOT NULL CHECK (role BETWEEN 1 AND 3),
    created_ms   BIGINT NOT NULL,
    expires_ms   BIGINT NOT NULL DEFAULT 0,
    revoked_ms   BIGINT NOT NULL DEFAULT 0,
    created_by   TEXT NOT NULL DEFAULT '',
    last_used_ms BIGINT NOT NULL DEFAULT 0
);
