-- Exports read a call's applications in (created_at, id) order, a page at a time, starting
-- after the last row of the previous page (keyset pagination): this index hands them out in
-- that order, so each page costs the same however far into a large call it is.
CREATE INDEX applications_call_created_idx ON applications (call_id, created_at, id);
