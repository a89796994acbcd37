-- run_provenance: every run recorded in the warehouse: counting, imports, evaluations, reports.
-- Returns one row per run: run_id, kind, started, finished, seconds, inputs and options (JSON),
-- code_version, label set and version, and for counting runs the per-source document accounting
-- (docs_read, docs_matched, docs_unmatched, docs_quarantined, duplicates_dropped, files_failed)
-- with quarantined reasons.
-- @param kind VARCHAR = NULL  one kind of run (e.g. count, import-counts, import-accuracy, evaluate)
-- DuckDB CLI: .read queries/run_provenance.sql
WITH stats AS (
  SELECT run_id, string_agg(source || ': read ' || docs_read || ', matched ' || docs_matched ||
           ', unmatched ' || docs_unmatched || ', quarantined ' || docs_quarantined ||
           ', duplicates dropped ' || coalesce(duplicates_dropped, 0) || ', files failed ' ||
           coalesce(files_failed, 0), '; ' ORDER BY source) AS sources,
         sum(docs_read) AS docs_read, sum(docs_matched) AS docs_matched,
         sum(docs_quarantined) AS docs_quarantined
  FROM source_stats GROUP BY run_id),
q AS (
  SELECT run_id, string_agg(reason || ' x' || n, '; ' ORDER BY n DESC, reason) AS quarantined_reasons
  FROM quarantine GROUP BY run_id)
SELECT r.run_id, r.kind, r.started, r.finished, date_diff('millisecond', r.started, r.finished) / 1000.0 AS seconds,
       r.labelset, r.labelset_version, r.code_version, r.inputs::VARCHAR AS inputs,
       r.options::VARCHAR AS options, s.docs_read, s.docs_matched, s.docs_quarantined, s.sources,
       q.quarantined_reasons
FROM runs r LEFT JOIN stats s USING (run_id) LEFT JOIN q USING (run_id)
WHERE getvariable('kind') IS NULL OR r.kind = getvariable('kind')
ORDER BY r.started, r.run_id;
