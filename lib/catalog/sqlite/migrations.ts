/** Versioned schema of the SQLite catalog; each entry is applied once, in order, in a transaction. */
export const SQLITE_MIGRATIONS: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: "identity and fleets",
    sql: `
      CREATE TABLE fleets (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'operator', 'viewer')),
        fleet_id TEXT REFERENCES fleets(id),
        password_hash TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        CHECK ((role = 'owner') = (fleet_id IS NULL))
      );
      CREATE INDEX users_fleet ON users(fleet_id);
      CREATE TABLE vehicles (
        id TEXT PRIMARY KEY,
        fleet_id TEXT NOT NULL REFERENCES fleets(id),
        name TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        UNIQUE (fleet_id, name)
      );
      CREATE TABLE cameras (
        id TEXT PRIMARY KEY,
        fleet_id TEXT NOT NULL REFERENCES fleets(id),
        vehicle_id TEXT NOT NULL REFERENCES vehicles(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        UNIQUE (vehicle_id, name)
      );
      CREATE TABLE device_credentials (
        id TEXT PRIMARY KEY,
        fleet_id TEXT NOT NULL REFERENCES fleets(id),
        vehicle_id TEXT NOT NULL REFERENCES vehicles(id) ON DELETE CASCADE,
        code_hash TEXT NOT NULL UNIQUE,
        enrolment_expires_at INTEGER NOT NULL,
        enrolled_at INTEGER,
        public_jwk TEXT,
        revoked_at INTEGER,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX device_credentials_vehicle ON device_credentials(vehicle_id);
      CREATE TABLE device_assertions (
        jti TEXT PRIMARY KEY,
        expires_at INTEGER NOT NULL
      );
      CREATE TABLE session_families (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        revoked_at INTEGER,
        revoked_reason TEXT
      );
      CREATE INDEX session_families_user ON session_families(user_id);
      CREATE TABLE refresh_tokens (
        token_hash TEXT PRIMARY KEY,
        family_id TEXT NOT NULL REFERENCES session_families(id) ON DELETE CASCADE,
        expires_at INTEGER NOT NULL,
        rotated_at INTEGER
      );
      CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);
      CREATE TABLE signing_keys (
        kid TEXT PRIMARY KEY,
        private_jwk TEXT NOT NULL,
        public_jwk TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        retired_at INTEGER
      );
    `,
  },
  {
    version: 2,
    name: "recordings, segments, vehicle status, secrets",
    sql: `
      CREATE TABLE recordings (
        camera_id TEXT NOT NULL REFERENCES cameras(id) ON DELETE CASCADE,
        id TEXT NOT NULL,
        fleet_id TEXT NOT NULL,
        vehicle_id TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        ended_at INTEGER NOT NULL,
        segment_count INTEGER NOT NULL DEFAULT 0,
        init_key TEXT,
        closed_at INTEGER,
        PRIMARY KEY (camera_id, id)
      ) WITHOUT ROWID;
      CREATE INDEX recordings_time ON recordings(camera_id, started_at);
      CREATE TABLE segments (
        camera_id TEXT NOT NULL,
        recording_id TEXT NOT NULL,
        sequence INTEGER NOT NULL,
        start_ms INTEGER NOT NULL,
        duration_ms INTEGER NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        object_key TEXT NOT NULL,
        PRIMARY KEY (camera_id, recording_id, sequence),
        FOREIGN KEY (camera_id, recording_id) REFERENCES recordings(camera_id, id) ON DELETE CASCADE
      ) WITHOUT ROWID;
      CREATE INDEX segments_time ON segments(camera_id, start_ms);
      CREATE TABLE vehicle_status (
        vehicle_id TEXT PRIMARY KEY REFERENCES vehicles(id) ON DELETE CASCADE,
        reported_at INTEGER NOT NULL,
        status TEXT NOT NULL
      );
      CREATE TABLE secrets (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: "segments by time, covering what playlists read",
    // Playlists read a camera's segments by start time. With duration and size in the index (and
    // recording and sequence, the key, in that order so it is also the ORDER BY), that read never
    // visits the table. It leads with the columns of the index it replaces, so it serves whatever
    // that one did; and as that one held the key already, each entry grows by two integers.
    sql: `
      DROP INDEX segments_time;
      CREATE INDEX segments_time ON segments(
        camera_id, start_ms, recording_id, sequence, duration_ms, size
      );
    `,
  },
  {
    version: 4,
    name: "capability links and URL signing keys",
    // No foreign keys on links: a link's row must outlive its maker and camera for as long as its
    // URLs could verify, so that "maker gone" reads as unusable rather than as unknown.
    sql: `
      CREATE TABLE links (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('playback', 'live')),
        fleet_id TEXT NOT NULL,
        vehicle_id TEXT NOT NULL,
        camera_id TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        from_ms INTEGER,
        to_ms INTEGER,
        revoked_at INTEGER
      );
      CREATE INDEX links_fleet ON links(fleet_id, expires_at);
      CREATE INDEX links_expiry ON links(expires_at);
      CREATE TABLE url_signing_keys (
        kid TEXT PRIMARY KEY,
        secret TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        retired_at INTEGER,
        verify_until INTEGER
      );
    `,
  },
  {
    version: 5,
    name: "retention",
    // A fleet's retention (null: keep forever). The sweep reads a fleet's cameras (cameras_fleet),
    // then each camera's expired segments from segments_time (camera, start) in start order, so a
    // batch costs what it deletes; recordings that go whole are found by fleet and end among the
    // closed ones. Objects whose rows are gone wait in expired_objects until the store deleted them.
    sql: `
      ALTER TABLE fleets ADD COLUMN retention_days INTEGER
        CHECK (retention_days BETWEEN 1 AND 3650);
      CREATE INDEX cameras_fleet ON cameras(fleet_id);
      CREATE INDEX recordings_fleet_end ON recordings(fleet_id, ended_at)
        WHERE closed_at IS NOT NULL;
      CREATE TABLE expired_objects (
        object_key TEXT PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('segment', 'init')),
        size INTEGER NOT NULL,
        queued_at INTEGER NOT NULL
      );
      CREATE INDEX expired_objects_queued ON expired_objects(queued_at);
    `,
  },
  {
    version: 7,
    name: "recording re-timing offsets",
    // A recording re-timed because its vehicle's clock was not plausible keeps one offset in every
    // ingest process and across restarts: the first stored wins. No key to recordings: ingest
    // stores the offset before the indexer creates the recording. Rows go with their camera and,
    // by retention, with their recording.
    sql: `
      CREATE TABLE recording_retimes (
        camera_id TEXT NOT NULL REFERENCES cameras(id) ON DELETE CASCADE,
        recording_id TEXT NOT NULL,
        delta_ms INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (camera_id, recording_id)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 8,
    name: "fleet settings: time zone, segment length, live ladder",
    // Null: the default (UTC, the agent's own segment length, the server's LIVE_LADDER).
    sql: `
      ALTER TABLE fleets ADD COLUMN time_zone TEXT;
      ALTER TABLE fleets ADD COLUMN segment_seconds REAL;
      ALTER TABLE fleets ADD COLUMN live_ladder TEXT;
    `,
  },
  {
    version: 9,
    name: "one-time password reset codes",
    // Only the code's SHA-256 is kept. A code is used once (used_at), and issuing another revokes
    // the user's unused ones (revoked_at); rows go with their user.
    sql: `
      CREATE TABLE password_resets (
        code_hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER,
        revoked_at INTEGER
      ) WITHOUT ROWID;
      CREATE INDEX password_resets_user ON password_resets(user_id);
    `,
  },
  {
    version: 10,
    name: "camera labels",
    // What operators call a camera, beside the name the agent uploads under (which never changes).
    // Null: the camera is shown by its name.
    sql: `
      ALTER TABLE cameras ADD COLUMN label TEXT;
    `,
  },
  {
    version: 11,
    name: "heartbeat history",
    // Every heartbeat of a vehicle for a bounded time (HEARTBEAT_HISTORY), so every API process,
    // and the same one after a restart, shows the same history. Each write deletes the vehicle's
    // heartbeats that are too old or too many, reading the primary key (vehicle, time) only.
    sql: `
      CREATE TABLE vehicle_heartbeats (
        vehicle_id TEXT NOT NULL REFERENCES vehicles(id) ON DELETE CASCADE,
        reported_at INTEGER NOT NULL,
        status TEXT NOT NULL,
        PRIMARY KEY (vehicle_id, reported_at)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 12,
    name: "upload policies, recalls, vehicle inventory",
    // A policy per fleet, vehicle or camera (scope_id is that id; ids are unique across kinds), its
    // rows going with what it is set on. Recalls wait for their vehicle however long it is away;
    // the vehicle's active ones are read on every heartbeat and instructions request (the partial
    // index). The inventory is what each vehicle last reported holding, per camera and rendition.
    sql: `
      CREATE TABLE upload_policies (
        scope_id TEXT PRIMARY KEY,
        scope TEXT NOT NULL CHECK (scope IN ('fleet', 'vehicle', 'camera')),
        fleet_id TEXT NOT NULL REFERENCES fleets(id) ON DELETE CASCADE,
        vehicle_id TEXT REFERENCES vehicles(id) ON DELETE CASCADE,
        camera_id TEXT REFERENCES cameras(id) ON DELETE CASCADE,
        mode TEXT NOT NULL CHECK (mode IN ('continuous', 'proxy', 'on-request')),
        proxy_height INTEGER NOT NULL,
        proxy_bitrate_kbps INTEGER NOT NULL,
        recall_max_seconds INTEGER,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX upload_policies_vehicle ON upload_policies(vehicle_id);
      CREATE TABLE recalls (
        id TEXT PRIMARY KEY,
        fleet_id TEXT NOT NULL,
        vehicle_id TEXT NOT NULL REFERENCES vehicles(id) ON DELETE CASCADE,
        camera_id TEXT NOT NULL REFERENCES cameras(id) ON DELETE CASCADE,
        from_ms INTEGER NOT NULL,
        to_ms INTEGER NOT NULL,
        origin TEXT NOT NULL CHECK (origin IN ('operator', 'event')),
        created_by TEXT,
        state TEXT NOT NULL CHECK (
          state IN ('queued', 'uploading', 'complete', 'partial', 'expired', 'cancelled')
        ),
        progress TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        finished_at INTEGER,
        CHECK (to_ms > from_ms)
      );
      CREATE INDEX recalls_vehicle_active ON recalls(vehicle_id, created_at)
        WHERE finished_at IS NULL;
      CREATE INDEX recalls_camera ON recalls(camera_id, created_at);
      CREATE TABLE vehicle_inventory (
        vehicle_id TEXT NOT NULL REFERENCES vehicles(id) ON DELETE CASCADE,
        camera TEXT NOT NULL,
        rendition TEXT NOT NULL CHECK (rendition IN ('full', 'proxy')),
        ranges TEXT NOT NULL,
        reported_at INTEGER NOT NULL,
        PRIMARY KEY (vehicle_id, camera, rendition)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 13,
    name: "recording renditions and data usage",
    // A recording is full quality or the proxy the same capture makes beside it (existing ones are
    // full). Playlists pick a rendition's segments by recording id, from segments_time as before.
    // upload_usage: bytes stored per vehicle, camera, UTC day and kind, added by the indexer in
    // the transaction that inserts the segment (so an event delivered twice counts once); no key
    // to cameras: a deleted camera's bytes were still uploaded.
    sql: `
      ALTER TABLE recordings ADD COLUMN rendition TEXT NOT NULL DEFAULT 'full'
        CHECK (rendition IN ('full', 'proxy'));
      CREATE TABLE upload_usage (
        fleet_id TEXT NOT NULL,
        vehicle_id TEXT NOT NULL REFERENCES vehicles(id) ON DELETE CASCADE,
        day TEXT NOT NULL,
        camera_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('continuous', 'proxy', 'recall', 'event', 'live')),
        bytes INTEGER NOT NULL,
        objects INTEGER NOT NULL,
        PRIMARY KEY (vehicle_id, day, camera_id, kind)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 14,
    name: "vehicle events, event rules, fleet webhooks",
    // Events a vehicle or an operator reports: listed per vehicle and time (the index), a retried
    // report found by the reporter's own id (unique per vehicle; NULLs, operators' events without
    // one, never collide). recalls: what the fleet's rules made of it (JSON), NULL until applied.
    // A fleet's event rules are one JSON list; its webhook is a URL and the secret that signs.
    sql: `
      CREATE TABLE vehicle_events (
        id TEXT PRIMARY KEY,
        fleet_id TEXT NOT NULL REFERENCES fleets(id) ON DELETE CASCADE,
        vehicle_id TEXT NOT NULL REFERENCES vehicles(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        metadata TEXT,
        source TEXT NOT NULL CHECK (source IN ('vehicle', 'operator')),
        client_id TEXT,
        created_by TEXT,
        created_at INTEGER NOT NULL,
        recalls TEXT
      );
      CREATE UNIQUE INDEX vehicle_events_client ON vehicle_events(vehicle_id, client_id);
      CREATE INDEX vehicle_events_time ON vehicle_events(vehicle_id, at_ms);
      CREATE TABLE event_rules (
        fleet_id TEXT PRIMARY KEY REFERENCES fleets(id) ON DELETE CASCADE,
        rules TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE fleet_webhooks (
        fleet_id TEXT PRIMARY KEY REFERENCES fleets(id) ON DELETE CASCADE,
        url TEXT NOT NULL,
        secret TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      );
    `,
  },
];
