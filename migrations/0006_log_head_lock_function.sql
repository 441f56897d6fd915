-- Lock the log head and read the latest entry of each given subject in one
-- round trip. The subject query runs as a separate statement inside the
-- function, after the lock is granted, so (in READ COMMITTED) it sees every
-- entry committed by whoever held the lock before: subjectPrev is computed
-- from the database under the lock, never from a stale snapshot.
CREATE FUNCTION evx_lock_log_head(p_subjects text[])
RETURNS TABLE (size bigint, last_leaf_hash bytea, frontier bytea[], head_subjects text[], head_hashes bytea[])
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  h log_head%ROWTYPE;
BEGIN
  SELECT * INTO STRICT h FROM log_head WHERE singleton FOR UPDATE;
  RETURN QUERY
    SELECT h.size, h.last_leaf_hash, h.frontier, array_agg(s.subject), array_agg(s.leaf_hash)
    FROM (
      SELECT DISTINCT ON (e.subject) e.subject, e.leaf_hash
      FROM log_entries e
      WHERE e.subject = ANY (p_subjects)
      ORDER BY e.subject, e.seq DESC
    ) s;
END
$$;
GRANT EXECUTE ON FUNCTION evx_lock_log_head(text[]) TO evx_service;
