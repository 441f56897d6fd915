-- evx_lock_log_head (0006) found each subject's latest entry with DISTINCT ON
-- over all of the subject's entries: a sort of every entry of every subject
-- in the batch, growing with the log (appends slowed from 3,100/s to 1,300/s
-- within 12 s of a benchmark). One backward index probe per subject instead.
CREATE OR REPLACE FUNCTION evx_lock_log_head(p_subjects text[])
RETURNS TABLE (size bigint, last_leaf_hash bytea, frontier bytea[], head_subjects text[], head_hashes bytea[])
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  h log_head%ROWTYPE;
BEGIN
  SELECT * INTO STRICT h FROM log_head WHERE singleton FOR UPDATE;
  -- A separate statement, after the lock: it sees every entry committed before we got it.
  RETURN QUERY
    SELECT h.size, h.last_leaf_hash, h.frontier, array_agg(s.subject), array_agg(latest.leaf_hash)
    FROM unnest(p_subjects) AS s(subject)
    CROSS JOIN LATERAL (
      SELECT e.leaf_hash FROM log_entries e WHERE e.subject = s.subject ORDER BY e.seq DESC LIMIT 1
    ) AS latest;
END
$$;
