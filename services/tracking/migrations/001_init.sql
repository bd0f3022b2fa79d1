-- Tracking service schema. The runner creates the schema and sets
-- search_path, so names here are unqualified.

CREATE TABLE experiments (
    experiment_id     bigint PRIMARY KEY,
    name              text NOT NULL UNIQUE,
    artifact_location text NOT NULL,
    lifecycle_stage   text NOT NULL DEFAULT 'active' CHECK (lifecycle_stage IN ('active', 'deleted')),
    creation_time     bigint NOT NULL,
    last_update_time  bigint NOT NULL
);
-- Experiment 0 is MLflow's "Default"; user experiments count from 1.
CREATE SEQUENCE experiment_ids START 1 OWNED BY experiments.experiment_id;

CREATE TABLE experiment_tags (
    experiment_id bigint NOT NULL REFERENCES experiments ON DELETE CASCADE,
    key           text NOT NULL,
    value         text NOT NULL,
    PRIMARY KEY (experiment_id, key)
);
-- Values are indexed up to INDEXED_VALUE_LENGTH characters: a btree entry
-- cannot hold MLflow's longest values (6000/8000). Searches for a short value
-- repeat the bound so the planner may use these partial indexes.
CREATE INDEX experiment_tags_kv ON experiment_tags (key, value) WHERE length(value) <= 1024;

CREATE TABLE runs (
    run_id          uuid PRIMARY KEY,
    experiment_id   bigint NOT NULL REFERENCES experiments,
    name            text NOT NULL,
    user_id         text NOT NULL DEFAULT '',
    status          text NOT NULL CHECK (status IN ('RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED')),
    start_time      bigint NOT NULL,
    end_time        bigint,
    lifecycle_stage text NOT NULL DEFAULT 'active' CHECK (lifecycle_stage IN ('active', 'deleted')),
    artifact_uri    text NOT NULL,
    parent_run_id   uuid REFERENCES runs
);
-- The default search order (newest first) within experiments.
CREATE INDEX runs_by_start ON runs (experiment_id, start_time DESC, run_id);
CREATE INDEX runs_by_parent ON runs (parent_run_id) WHERE parent_run_id IS NOT NULL;

CREATE TABLE params (
    run_id uuid NOT NULL REFERENCES runs ON DELETE CASCADE,
    key    text NOT NULL,
    value  text NOT NULL,
    PRIMARY KEY (run_id, key)
);
CREATE INDEX params_kv ON params (key, value) WHERE length(value) <= 1024;

CREATE TABLE tags (
    run_id uuid NOT NULL REFERENCES runs ON DELETE CASCADE,
    key    text NOT NULL,
    value  text NOT NULL,
    PRIMARY KEY (run_id, key)
);
CREATE INDEX tags_kv ON tags (key, value) WHERE length(value) <= 1024;

-- Latest value per (run, key) by MLflow's rule (max step, then timestamp,
-- then value): what run search filters and orders on.
CREATE TABLE latest_metrics (
    run_id       uuid NOT NULL REFERENCES runs ON DELETE CASCADE,
    key          text NOT NULL,
    value        double precision NOT NULL,
    step         bigint NOT NULL,
    timestamp_ms bigint NOT NULL,
    PRIMARY KEY (run_id, key)
);
CREATE INDEX latest_metrics_kv ON latest_metrics (key, value);

-- Full metric history, stored columnar: one row per ingested batch of one
-- key, so ingest writes one row per thousands of points and history reads
-- decode arrays instead of building a record per point.
CREATE TABLE metric_chunks (
    run_id        uuid NOT NULL REFERENCES runs ON DELETE CASCADE,
    key           text NOT NULL,
    chunk_id      bigint GENERATED ALWAYS AS IDENTITY,
    n             integer NOT NULL,
    min_step      bigint NOT NULL,
    max_step      bigint NOT NULL,
    steps         bigint[] NOT NULL,
    timestamps    bigint[] NOT NULL,
    metric_values double precision[] NOT NULL,
    PRIMARY KEY (run_id, key, chunk_id)
);

CREATE TABLE datasets (
    dataset_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    experiment_id bigint NOT NULL REFERENCES experiments,
    name          text NOT NULL,
    digest        text NOT NULL,
    source_type   text NOT NULL DEFAULT '',
    source        text NOT NULL DEFAULT '',
    schema        text NOT NULL DEFAULT '',
    profile       text NOT NULL DEFAULT '',
    UNIQUE (experiment_id, name, digest)
);

CREATE TABLE run_inputs (
    run_id     uuid NOT NULL REFERENCES runs ON DELETE CASCADE,
    dataset_id bigint NOT NULL REFERENCES datasets,
    tags       jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, dataset_id)
);
CREATE INDEX run_inputs_dataset ON run_inputs (dataset_id);
