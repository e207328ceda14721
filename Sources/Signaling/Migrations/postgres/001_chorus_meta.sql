-- Chorus schema bookkeeping: a key/value table for facts about the database itself.
CREATE TABLE IF NOT EXISTS chorus_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
