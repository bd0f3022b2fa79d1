-- Model registry schema. The runner creates the schema and sets search_path,
-- so names here are unqualified. Models are keyed by a surrogate id so a
-- rename is one row; versions, tags and aliases follow it without cascades.

CREATE TABLE registered_models (
    model_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name             text NOT NULL UNIQUE,
    description      text NOT NULL DEFAULT '',
    creation_time    bigint NOT NULL,
    last_update_time bigint NOT NULL,
    -- The last version number handed out. A new version takes the next one
    -- with `UPDATE ... SET last_version = last_version + 1 RETURNING` in its
    -- transaction: the row lock orders concurrent creators, a rollback gives
    -- the number back, and a deleted version's number is never reused.
    last_version     bigint NOT NULL DEFAULT 0
);
CREATE INDEX registered_models_by_creation ON registered_models (creation_time, model_id);
CREATE INDEX registered_models_by_update ON registered_models (last_update_time, model_id);

CREATE TABLE model_versions (
    model_id          bigint NOT NULL REFERENCES registered_models ON DELETE CASCADE,
    version           bigint NOT NULL CHECK (version > 0),
    creation_time     bigint NOT NULL,
    last_update_time  bigint NOT NULL,
    description       text NOT NULL DEFAULT '',
    source            text NOT NULL,
    storage_location  text NOT NULL,
    run_id            uuid,
    experiment_id     text NOT NULL DEFAULT '',
    stage             text NOT NULL DEFAULT 'None'
                      CHECK (stage IN ('None', 'Staging', 'Production', 'Archived')),
    signature_inputs  text NOT NULL DEFAULT '',
    signature_outputs text NOT NULL DEFAULT '',
    signature_params  text NOT NULL DEFAULT '',
    flavor            text NOT NULL DEFAULT '',
    content_digest    text NOT NULL DEFAULT '',
    PRIMARY KEY (model_id, version)
);
CREATE INDEX model_versions_by_run ON model_versions (run_id) WHERE run_id IS NOT NULL;
CREATE INDEX model_versions_by_stage ON model_versions (model_id, stage, version DESC);

CREATE TABLE model_tags (
    model_id bigint NOT NULL REFERENCES registered_models ON DELETE CASCADE,
    key      text NOT NULL,
    value    text NOT NULL,
    PRIMARY KEY (model_id, key)
);
-- As in tracking: values indexed up to 1024 characters (a btree entry cannot
-- hold the longest); searches for short values repeat the bound.
CREATE INDEX model_tags_kv ON model_tags (key, value) WHERE length(value) <= 1024;

CREATE TABLE version_tags (
    model_id bigint NOT NULL,
    version  bigint NOT NULL,
    key      text NOT NULL,
    value    text NOT NULL,
    PRIMARY KEY (model_id, version, key),
    FOREIGN KEY (model_id, version) REFERENCES model_versions ON DELETE CASCADE
);
CREATE INDEX version_tags_kv ON version_tags (key, value) WHERE length(value) <= 1024;

CREATE TABLE aliases (
    model_id bigint NOT NULL,
    alias    text NOT NULL,
    version  bigint NOT NULL,
    PRIMARY KEY (model_id, alias),
    FOREIGN KEY (model_id, version) REFERENCES model_versions ON DELETE CASCADE
);
CREATE INDEX aliases_by_version ON aliases (model_id, version);

-- Who changed what, when, from what to what. No foreign key: the history
-- outlives a deleted model and stays queryable by its last name.
CREATE TABLE audit_log (
    entry_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    model_id     bigint NOT NULL,
    name         text NOT NULL,
    actor        text NOT NULL,
    time_ms      bigint NOT NULL,
    action       text NOT NULL,
    version      bigint,
    alias        text,
    from_version bigint,
    to_version   bigint,
    from_stage   text,
    to_stage     text,
    detail       text NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_by_model ON audit_log (model_id, entry_id);
CREATE INDEX audit_log_by_name ON audit_log (name, entry_id);

-- Append-only, enforced by the database rather than by convention.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Tag keys and values are strongly correlated; see tracking's 002.
CREATE STATISTICS model_tags_key_value (mcv, dependencies) ON key, value FROM model_tags;
CREATE STATISTICS version_tags_key_value (mcv, dependencies) ON key, value FROM version_tags;
