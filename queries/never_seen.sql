-- never_seen: classes with no document at all, per count source and across all of a label set's sources.
-- Returns one row per (count_key, labelset, version, class_index) with docs = 0 (for sampled runs:
-- not seen in the sample, and docs_est_hi is the upper 95% bound of the true count), plus
-- seen_elsewhere: how many other count sources of the same label-set version do contain the class.
-- @param labelset VARCHAR = NULL  label set name
-- @param count_key VARCHAR = NULL  one count source
-- DuckDB CLI: .read queries/never_seen.sql
WITH s AS (
  SELECT s.*, count(*) FILTER (WHERE s.docs > 0) OVER (PARTITION BY s.labelset, s.version, s.class_index) AS sources_seen
  FROM class_sources s
  WHERE getvariable('labelset') IS NULL OR s.labelset = getvariable('labelset'))
SELECT s.count_key, s.labelset, s.version, s.class_index, c.class_id, c.name, s.docs,
       s.docs_est_hi, s.sources_seen AS seen_elsewhere
FROM s
JOIN classes c ON c.labelset = s.labelset AND c.version = s.version AND c.class_index = s.class_index
WHERE s.docs = 0 AND (getvariable('count_key') IS NULL OR s.count_key = getvariable('count_key'))
ORDER BY s.count_key, s.labelset, s.version, s.class_index;
