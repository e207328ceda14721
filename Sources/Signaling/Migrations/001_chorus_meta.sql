-- Chorus schema bookkeeping; the call tables arrive with the signaling work (issue 4).
CREATE TABLE IF NOT EXISTS chorus_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
