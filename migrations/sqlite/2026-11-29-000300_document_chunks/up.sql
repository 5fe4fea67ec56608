-- Document contents live in the database, in chunks written in the same transaction as the
-- document's row, so every instance of a deployment reads every document (they were files on
-- the disk of the instance that received them).
CREATE TABLE document_chunks (
    document_id TEXT NOT NULL REFERENCES application_documents (id) ON DELETE CASCADE,
    seq INTEGER NOT NULL CHECK (seq >= 0),
    data BLOB NOT NULL,
    PRIMARY KEY (document_id, seq)
);
