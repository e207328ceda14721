-- Calls, their participants and their audit log (issue 4), PostgreSQL dialect. Ids sort
-- bytewise (COLLATE "C") so that paging order is the same as SQLite's whatever the database's
-- locale; times are timestamptz, written and read as whole milliseconds by the store.
CREATE TABLE call_sessions (
    id text COLLATE "C" PRIMARY KEY,
    room_id text NOT NULL,
    call_type text NOT NULL CHECK (call_type IN ('voice', 'video')),
    is_group_call boolean NOT NULL,
    initiator text NOT NULL,
    status text NOT NULL CHECK (status IN ('ringing', 'active', 'ended', 'rejected', 'missed')),
    created_at timestamptz NOT NULL,
    answered_at timestamptz,
    ended_at timestamptz,
    end_reason text
);
-- The ring-timeout sweep: status = 'ringing' AND created_at < cutoff.
CREATE INDEX call_sessions_status_created_at ON call_sessions (status, created_at);

CREATE TABLE call_participants (
    call_id text COLLATE "C" NOT NULL REFERENCES call_sessions (id) ON DELETE CASCADE,
    user_id text NOT NULL,
    role text NOT NULL CHECK (role IN ('initiator', 'invitee')),
    status text NOT NULL CHECK (status IN ('invited', 'joined', 'left', 'rejected')),
    audio_enabled boolean NOT NULL,
    video_enabled boolean NOT NULL,
    joined_at timestamptz,
    left_at timestamptz,
    -- Order of addition (initiator first).
    position integer NOT NULL,
    -- A copy of call_sessions.created_at (never changes) so that a user's history and active
    -- calls are one range of the index below, newest first, without sorting all their calls.
    call_created_at timestamptz NOT NULL,
    PRIMARY KEY (call_id, user_id)
);
CREATE INDEX call_participants_user_history ON call_participants (user_id, call_created_at DESC, call_id DESC);

CREATE TABLE call_events (
    id bigserial PRIMARY KEY,
    call_id text COLLATE "C" NOT NULL REFERENCES call_sessions (id) ON DELETE CASCADE,
    type text NOT NULL,
    actor text,
    payload text,
    created_at timestamptz NOT NULL
);
CREATE INDEX call_events_call_id ON call_events (call_id, id);
