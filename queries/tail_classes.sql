-- tail_classes: the rarest classes of each count source (the long tail).
-- Returns, per (count_key, labelset, version), the classes whose docs_est is at most max_docs or
-- that fall in the lowest `quantile` of the source, rarest first: name, docs, docs_per_million,
-- the class's rank from the bottom and the source's median docs for scale.
-- @param labelset VARCHAR = NULL  label set name
-- @param count_key VARCHAR = NULL  one count source
-- @param max_docs DOUBLE = 10  classes with at most this many documents are in the tail
-- @param quantile DOUBLE = 0.05  ...and so are the rarest this fraction of classes
-- DuckDB CLI: SET VARIABLE max_docs = 100; .read queries/tail_classes.sql
WITH s AS (
  SELECT s.*, c.name, c.class_id,
         percent_rank() OVER (PARTITION BY s.count_key, s.labelset, s.version ORDER BY s.docs_est) AS pr,
         rank() OVER (PARTITION BY s.count_key, s.labelset, s.version ORDER BY s.docs_est) AS rank_from_bottom,
         median(s.docs_est) OVER (PARTITION BY s.count_key, s.labelset, s.version) AS source_median_docs
  FROM class_sources s
  JOIN classes c ON c.labelset = s.labelset AND c.version = s.version AND c.class_index = s.class_index
  WHERE (getvariable('labelset') IS NULL OR s.labelset = getvariable('labelset'))
    AND (getvariable('count_key') IS NULL OR s.count_key = getvariable('count_key')))
SELECT count_key, labelset, version, class_index, class_id, name, docs, docs_est, docs_per_million,
       rank_from_bottom, source_median_docs
FROM s
WHERE docs_est <= coalesce(getvariable('max_docs'), 10)
   OR pr <= coalesce(getvariable('quantile'), 0.05)
ORDER BY count_key, labelset, version, docs_est, class_index;
