-- mix_coverage: what each declared training mix contains and how much of it has counts.
-- Returns one row per (mix, component): source (count_key), weight, counted (declared countable),
-- has_counts (the warehouse holds counts for it), the label-set versions it covers, the component's
-- total documents, and the mix-level summary: counted components with counts / all components.
-- `uncovered` lists components without counts: declared uncountable (no source) or not yet counted.
-- A component with a source but counted = false is part of the mix (its documents are excluded
-- from mining) but not summed, e.g. our scanned sample of a corpus whose full counts are imported.
-- @param mix VARCHAR = NULL  one mix (mixes.model)
-- DuckDB CLI: .read queries/mix_coverage.sql
WITH have AS (
  SELECT count_key, string_agg(DISTINCT labelset || '@' || version, ', ' ORDER BY labelset || '@' || version) AS labelsets,
         max(corpus_docs) AS corpus_docs
  FROM class_sources GROUP BY count_key)
SELECT m.model AS mix, m.component, m.source_kind, m.source, coalesce(m.weight, 1) AS weight,
       coalesce(m.counted, false) AS counted, h.count_key IS NOT NULL AS has_counts, h.labelsets,
       h.corpus_docs, m.note,
       count(*) FILTER (WHERE coalesce(m.counted, false) AND h.count_key IS NOT NULL) OVER w AS components_with_counts,
       count(*) OVER w AS components_total,
       string_agg(CASE WHEN (coalesce(m.counted, false) AND h.count_key IS NULL) OR m.source IS NULL
                       THEN m.component END, '; ' ORDER BY m.component) OVER w AS uncovered
FROM mixes m LEFT JOIN have h ON h.count_key = m.source
WHERE getvariable('mix') IS NULL OR m.model = getvariable('mix')
WINDOW w AS (PARTITION BY m.model)
ORDER BY m.model, m.component;
