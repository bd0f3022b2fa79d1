-- Keys and values are strongly correlated ('lr' only ever has a few values),
-- which per-column statistics cannot see: the planner then misjudges how
-- many runs a filter keeps and hash-joins everything instead of walking
-- runs_by_start until the page is full (60 ms vs 5 ms over 100k runs).
CREATE STATISTICS params_key_value (mcv, dependencies) ON key, value FROM params;
CREATE STATISTICS tags_key_value (mcv, dependencies) ON key, value FROM tags;
CREATE STATISTICS latest_metrics_key_value (mcv, dependencies) ON key, value FROM latest_metrics;
CREATE STATISTICS experiment_tags_key_value (mcv, dependencies) ON key, value FROM experiment_tags;
