-- Where each version serves, as the gateway's deployment events tell it
-- (deployments.py follows them). Keyed by model name, as the events name
-- models: a version is looked up by name in lineage, and there is no foreign
-- key because the events may name a model this registry has since deleted.

CREATE TABLE version_deployments (
    deployment    text NOT NULL,
    model_name    text NOT NULL,
    model_version bigint NOT NULL,
    target        text NOT NULL,   -- roles and traffic, e.g. 'stable 80 %, shadow 100 %'
    state         text NOT NULL,   -- the deployment's: READY, PENDING, IDLE, FAILED
    since_ms      bigint NOT NULL, -- first seen serving here; kept across updates
    PRIMARY KEY (deployment, model_name, model_version)
);
CREATE INDEX version_deployments_by_version ON version_deployments (model_name, model_version);

-- The newest event applied per deployment, so a redelivered or late event
-- changes nothing. A deleted deployment keeps its row (a tombstone) so that
-- an older `updated` arriving after the `deleted` cannot bring it back.
CREATE TABLE deployment_marks (
    deployment text PRIMARY KEY,
    updated_ms bigint NOT NULL,    -- the deployment's own updated_ms in the event
    event_us   bigint NOT NULL,    -- the event's time (ce-time): breaks ties
    deleted    boolean NOT NULL
);
