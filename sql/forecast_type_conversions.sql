-- Whether each column type change keeps the stored values as they are: the same type, or a binary-coercible
-- cast (pg_cast.castmethod = 'b'). $1: oid[] of the columns' current types; $2: text[] of the new types as the
-- migration names them (to_regtype reads them on the search_path). A type that does not exist is left out.
SELECT change.source,
       change.target,
       target.oid AS target_oid,
       (target.oid = change.source
        OR EXISTS (SELECT 1 FROM pg_cast
                   WHERE castsource = change.source AND casttarget = target.oid AND castmethod = 'b')) AS binary_coercible
FROM unnest($1::oid[], $2::text[]) AS change(source, target)
CROSS JOIN LATERAL (SELECT to_regtype(change.target)::oid AS oid) AS target
WHERE target.oid IS NOT NULL;
