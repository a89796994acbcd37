-- ambiguous_classes: classes with a surface form flagged shared (another class uses it) or
-- polysemous (it also means something else), and how much of the class's count those forms carry.
-- Returns one row per (count_key, labelset, version, class_index) with an ambiguous form: the
-- flagged forms with their reasons, docs (any form), docs_clean (flagged forms excluded) and
-- ambiguous_share = 1 - docs_clean / docs (the share of documents found only through flagged
-- forms), plus ambiguous_form_docs from the per-form counts. Classes never counted by our
-- counter appear with count_key NULL so the flags still show.
-- @param labelset VARCHAR = NULL  label set name
-- @param source VARCHAR = NULL  one of our sources (class_counts.source); NULL: all
-- @param min_share DOUBLE = 0  only classes whose ambiguous_share is at least this
-- DuckDB CLI: .read queries/ambiguous_classes.sql
WITH flagged AS (
  SELECT labelset, version, class_index,
         string_agg(form || ' (' || array_to_string(list_transform(
             list_filter(flags, lambda x: x.flag IN ('shared', 'polysemous')), lambda x: x.flag || ': ' || coalesce(x.reason, '')), '; ') || ')',
           ' | ' ORDER BY form) AS flagged_forms,
         list(form ORDER BY form) AS forms
  FROM surface_forms
  WHERE len(list_filter(flags, lambda x: x.flag IN ('shared', 'polysemous'))) > 0
    AND (getvariable('labelset') IS NULL OR labelset = getvariable('labelset'))
  GROUP BY ALL),
per_form AS (
  SELECT k.run_id, k.source, k.mode, coalesce(k.role, 'all') AS role, k.labelset, k.version, k.class_index,
         sum(k.docs) FILTER (WHERE k.ambiguous) AS ambiguous_form_docs, sum(k.docs) AS form_docs
  FROM counts k GROUP BY ALL),
ours AS (
  SELECT s.* FROM class_sources s
  WHERE s.source_kind = 'ours' AND (getvariable('source') IS NULL OR s.source = getvariable('source')))
SELECT o.count_key, f.labelset, f.version, f.class_index, c.class_id, c.name, f.flagged_forms,
       o.docs, o.docs_clean,
       CASE WHEN o.docs > 0 THEN 1 - o.docs_clean::DOUBLE / o.docs END AS ambiguous_share,
       p.ambiguous_form_docs, p.form_docs
FROM flagged f
JOIN classes c ON c.labelset = f.labelset AND c.version = f.version AND c.class_index = f.class_index
LEFT JOIN ours o ON o.labelset = f.labelset AND o.version = f.version AND o.class_index = f.class_index
LEFT JOIN per_form p ON p.run_id = o.run_id AND p.source = o.source AND p.mode = o.method
      AND p.role = o.role AND p.labelset = o.labelset AND p.version = o.version AND p.class_index = o.class_index
WHERE coalesce(CASE WHEN o.docs > 0 THEN 1 - o.docs_clean::DOUBLE / o.docs END, 0) >= coalesce(getvariable('min_share'), 0)
ORDER BY ambiguous_share DESC NULLS LAST, f.labelset, f.version, f.class_index, o.count_key;
