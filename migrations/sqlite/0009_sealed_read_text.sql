-- Personal text in the read tables is sealed under its user's data key from now on
-- (`conversation_messages.text`, `users.username`, `users.display_name`: "s1:" and base64),
-- and searching users by name compares keyed hashes of the normalised names and their
-- prefixes (`users.name_hashes`, " h1 h2 … ") instead of the names (issue 15, defect 4;
-- docs/architecture.md, invariant 8; docs/decisions/0019-sealed-read-tables.md).
ALTER TABLE users ADD COLUMN name_hashes TEXT;

-- What earlier releases wrote in plain cannot be sealed here (SQL has no keys): it goes.
-- Figures are untouched; texts and names read as null until `salesbot rebuild` writes them
-- again, sealed, from the log.
UPDATE users SET username = NULL, display_name = NULL
 WHERE username IS NOT NULL OR display_name IS NOT NULL;
UPDATE conversation_messages SET text = NULL WHERE text IS NOT NULL;
