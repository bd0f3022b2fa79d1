-- Deployments, the model versions each serves (revisions) and their replicas.
-- Replicas are scheduler jobs; a replica's addresses are what it registered.
CREATE TABLE deployments (
    seq            bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    name           text PRIMARY KEY,
    spec           bytea NOT NULL,             -- DeploymentSpec as given
    state          text NOT NULL,              -- PENDING READY IDLE FAILED
    message        text NOT NULL DEFAULT '',
    next_revision  bigint NOT NULL DEFAULT 1,
    created_ms     bigint NOT NULL,
    updated_ms     bigint NOT NULL
);

CREATE TABLE revisions (
    deployment     text NOT NULL REFERENCES deployments (name) ON DELETE CASCADE,
    revision       bigint NOT NULL,
    -- stable, canary, shadow; next (a replacement getting ready); retired (draining)
    role           text NOT NULL,
    model_uri      text NOT NULL,              -- as given
    resolved_uri   text NOT NULL,              -- what replicas load: models:/name/<v> or runs:/...
    model_name     text NOT NULL DEFAULT '',
    model_version  text NOT NULL DEFAULT '',
    percent        float8 NOT NULL DEFAULT 0,
    created_ms     bigint NOT NULL,
    PRIMARY KEY (deployment, revision)
);

CREATE TABLE replicas (
    job_id         text PRIMARY KEY,
    deployment     text NOT NULL REFERENCES deployments (name) ON DELETE CASCADE,
    revision       bigint NOT NULL,
    state          text NOT NULL,              -- starting ready draining
    http_address   text NOT NULL DEFAULT '',
    grpc_address   text NOT NULL DEFAULT '',
    metadata       bytea,                      -- ModelMetadataResponse it registered
    created_ms     bigint NOT NULL,
    ready_ms       bigint NOT NULL DEFAULT 0
);
CREATE INDEX replicas_of ON replicas (deployment, revision);
