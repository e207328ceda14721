-- Calls, their participants and their audit log (issue 4), SQLite dialect. Times are integer
-- milliseconds since 1970 (UTC): exact, sortable, and the same precision as PostgreSQL's copy.
CREATE TABLE call_sessions (
    id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL,
    call_type TEXT NOT NULL CHECK (call_type IN ('voice', 'video')),
    is_group_call INTEGER NOT NULL CHECK (is_group_call IN (0, 1)),
    initiator TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ringing', 'active', 'ended', 'rejected', 'missed')),
    created_at INTEGER NOT NULL,
    answered_at INTEGER,
    ended_at INTEGER,
    end_reason TEXT
);
-- The ring-timeout sweep: status = 'ringing' AND created_at < cutoff.
CREATE INDEX call_sessions_status_created_at ON call_sessions (status, created_at);

CREATE TABLE call_participants (
    call_id TEXT NOT NULL REFERENCES call_sessions (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('initiator', 'invitee')),
    status TEXT NOT NULL CHECK (status IN ('invited', 'joined', 'left', 'rejected')),
    audio_enabled INTEGER NOT NULL CHECK (audio_enabled IN (0, 1)),
    video_enabled INTEGER NOT NULL CHECK (video_enabled IN (0, 1)),
    joined_at INTEGER,
    left_at INTEGER,
    -- Order of addition (initiator first).
    position INTEGER NOT NULL,
    -- A copy of call_sessions.created_at (never changes) so that a user's history and active
    -- calls are one range of the index below, newest first, without sorting all their calls.
    call_created_at INTEGER NOT NULL,
    PRIMARY KEY (call_id, user_id)
);
CREATE INDEX call_participants_user_history ON call_participants (user_id, call_created_at DESC, call_id DESC);

CREATE TABLE call_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id TEXT NOT NULL REFERENCES call_sessions (id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    actor TEXT,
    payload TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX call_events_call_id ON call_events (call_id, id);
