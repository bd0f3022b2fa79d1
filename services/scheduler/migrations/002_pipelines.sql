ALTER TABLE jobs ADD COLUMN outputs jsonb NOT NULL DEFAULT '{}';
ALTER TABLE jobs ADD COLUMN pipeline_id uuid;
ALTER TABLE jobs ADD COLUMN step text NOT NULL DEFAULT '';

CREATE TABLE pipelines (
    pipeline_id  uuid PRIMARY KEY,
    spec         bytea NOT NULL,               -- PipelineSpec
    state        text NOT NULL,
    message      text NOT NULL DEFAULT '',
    created_ms   bigint NOT NULL,
    finished_ms  bigint NOT NULL DEFAULT 0
);

CREATE TABLE step_runs (
    pipeline_id  uuid NOT NULL REFERENCES pipelines ON DELETE CASCADE,
    step         text NOT NULL,
    idx          int NOT NULL,
    job_id       uuid,
    state        text NOT NULL,
    outputs      jsonb NOT NULL DEFAULT '{}',
    cached       boolean NOT NULL DEFAULT false,
    digest       text NOT NULL,
    fanned       boolean NOT NULL DEFAULT false,
    PRIMARY KEY (pipeline_id, step, idx)
);
CREATE INDEX step_runs_by_job ON step_runs (job_id);
CREATE INDEX step_runs_cache ON step_runs (digest) WHERE state = 'SUCCEEDED';
