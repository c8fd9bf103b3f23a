/**
 * Versioned schema of the PostgreSQL catalog: the SQLite catalog's migrations, version for
 * version, in PostgreSQL's dialect (times are epoch milliseconds in `bigint`s, as there). Applied
 * once, in order, under an advisory lock (see Database.migrate).
 */
export const POSTGRES_MIGRATIONS: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: "identity and fleets",
    sql: `
      CREATE TABLE fleets (
        id text PRIMARY KEY,
        name text NOT NULL UNIQUE,
        created_at bigint NOT NULL
      );
      CREATE TABLE users (
        id text PRIMARY KEY,
        email text NOT NULL UNIQUE,
        role text NOT NULL CHECK (role IN ('owner', 'admin', 'operator', 'viewer')),
        fleet_id text REFERENCES fleets(id),
        password_hash text NOT NULL,
        disabled boolean NOT NULL DEFAULT false,
        created_at bigint NOT NULL,
        CHECK ((role = 'owner') = (fleet_id IS NULL))
      );
      CREATE INDEX users_fleet ON users(fleet_id);
      CREATE TABLE vehicles (
        id text PRIMARY KEY,
        fleet_id text NOT NULL REFERENCES fleets(id),
        name text NOT NULL,
        created_at bigint NOT NULL,
        UNIQUE (fleet_id, name)
      );
      CREATE TABLE cameras (
        id text PRIMARY KEY,
        fleet_id text NOT NULL REFERENCES fleets(id),
        vehicle_id text NOT NULL REFERENCES vehicles(id) ON DELETE CASCADE,
        name text NOT NULL,
        created_at bigint NOT NULL,
        UNIQUE (vehicle_id, name)
      );
      CREATE INDEX cameras_fleet ON cameras(fleet_id);
      CREATE TABLE device_credentials (
        id text PRIMARY KEY,
        fleet_id text NOT NULL REFERENCES fleets(id),
        vehicle_id text NOT NULL REFERENCES vehicles(id) ON DELETE CASCADE,
        code_hash text NOT NULL UNIQUE,
        enrolment_expires_at bigint NOT NULL,
        enrolled_at bigint,
        public_jwk text,
        revoked_at bigint,
        created_at bigint NOT NULL
      );
      CREATE INDEX device_credentials_vehicle ON device_credentials(vehicle_id);
      CREATE INDEX device_credentials_fleet ON device_credentials(fleet_id);
      CREATE TABLE device_assertions (
        jti text PRIMARY KEY,
        expires_at bigint NOT NULL
      );
      CREATE INDEX device_assertions_expiry ON device_assertions(expires_at);
      CREATE TABLE session_families (
        id text PRIMARY KEY,
        user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at bigint NOT NULL,
        expires_at bigint NOT NULL,
        revoked_at bigint,
        revoked_reason text
      );
      CREATE INDEX session_families_user ON session_families(user_id);
      CREATE INDEX session_families_expiry ON session_families(expires_at);
      CREATE TABLE refresh_tokens (
        token_hash text PRIMARY KEY,
        family_id text NOT NULL REFERENCES session_families(id) ON DELETE CASCADE,
        expires_at bigint NOT NULL,
        rotated_at bigint
      );
      CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);
      CREATE TABLE signing_keys (
        kid text PRIMARY KEY,
        private_jwk text NOT NULL,
        public_jwk text NOT NULL,
        created_at bigint NOT NULL,
        retired_at bigint
      );
    `,
  },
  {
    version: 2,
    name: "recordings, segments, vehicle status, secrets",
    sql: `
      CREATE TABLE recordings (
        camera_id text NOT NULL REFERENCES cameras(id) ON DELETE CASCADE,
        id text NOT NULL,
        fleet_id text NOT NULL,
        vehicle_id text NOT NULL,
        started_at bigint NOT NULL,
        ended_at bigint NOT NULL,
        segment_count bigint NOT NULL DEFAULT 0,
        init_key text,
        closed_at bigint,
        PRIMARY KEY (camera_id, id)
      );
      CREATE INDEX recordings_time ON recordings(camera_id, started_at);
      CREATE TABLE segments (
        camera_id text NOT NULL,
        recording_id text NOT NULL,
        sequence bigint NOT NULL,
        start_ms bigint NOT NULL,
        duration_ms bigint NOT NULL,
        size bigint NOT NULL,
        sha256 text NOT NULL,
        object_key text NOT NULL,
        PRIMARY KEY (camera_id, recording_id, sequence),
        FOREIGN KEY (camera_id, recording_id) REFERENCES recordings(camera_id, id) ON DELETE CASCADE
      );
      CREATE INDEX segments_time ON segments(camera_id, start_ms);
      CREATE TABLE vehicle_status (
        vehicle_id text PRIMARY KEY REFERENCES vehicles(id) ON DELETE CASCADE,
        reported_at bigint NOT NULL,
        status text NOT NULL
      );
      CREATE TABLE secrets (
        name text PRIMARY KEY,
        value text NOT NULL,
        created_at bigint NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: "segments by time, covering what playlists read",
    // As in SQLite: playlists read a camera's segments by start time, ordered by (start,
    // recording, sequence); with those as the key and duration and size INCLUDEd, the read is an
    // index-only scan in the index's order (once autovacuum has marked the pages all-visible).
    sql: `
      DROP INDEX segments_time;
      CREATE INDEX segments_time ON segments(camera_id, start_ms, recording_id, sequence)
        INCLUDE (duration_ms, size);
    `,
  },
  {
    version: 4,
    name: "capability links and URL signing keys",
    // No foreign keys on links: a link's row must outlive its maker and camera for as long as its
    // URLs could verify, so that "maker gone" reads as unusable rather than as unknown.
    sql: `
      CREATE TABLE links (
        id text PRIMARY KEY,
        kind text NOT NULL CHECK (kind IN ('playback', 'live')),
        fleet_id text NOT NULL,
        vehicle_id text NOT NULL,
        camera_id text NOT NULL,
        created_by text NOT NULL,
        created_at bigint NOT NULL,
        expires_at bigint NOT NULL,
        from_ms bigint,
        to_ms bigint,
        revoked_at bigint
      );
      CREATE INDEX links_fleet ON links(fleet_id, expires_at);
      CREATE INDEX links_expiry ON links(expires_at);
      CREATE TABLE url_signing_keys (
        kid text PRIMARY KEY,
        secret text NOT NULL,
        created_at bigint NOT NULL,
        retired_at bigint,
        verify_until bigint
      );
    `,
  },
  {
    version: 5,
    name: "retention",
    // As in SQLite (cameras_fleet exists here since version 1): a fleet's cameras, each camera's
    // expired segments from segments_time in start order, the closed recordings by fleet and end,
    // and the queue of objects whose rows are gone.
    sql: `
      ALTER TABLE fleets ADD COLUMN retention_days integer
        CHECK (retention_days BETWEEN 1 AND 3650);
      CREATE INDEX recordings_fleet_end ON recordings(fleet_id, ended_at)
        WHERE closed_at IS NOT NULL;
      CREATE TABLE expired_objects (
        object_key text PRIMARY KEY,
        kind text NOT NULL CHECK (kind IN ('segment', 'init')),
        size bigint NOT NULL,
        queued_at bigint NOT NULL
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
        camera_id text NOT NULL REFERENCES cameras(id) ON DELETE CASCADE,
        recording_id text NOT NULL,
        delta_ms bigint NOT NULL,
        created_at bigint NOT NULL,
        PRIMARY KEY (camera_id, recording_id)
      );
    `,
  },
  {
    version: 8,
    name: "fleet settings: time zone, segment length, live ladder",
    // Null: the default (UTC, the agent's own segment length, the server's LIVE_LADDER).
    sql: `
      ALTER TABLE fleets ADD COLUMN time_zone text;
      ALTER TABLE fleets ADD COLUMN segment_seconds double precision;
      ALTER TABLE fleets ADD COLUMN live_ladder text;
    `,
  },
  {
    version: 9,
    name: "one-time password reset codes",
    // Only the code's SHA-256 is kept. A code is used once (used_at), and issuing another revokes
    // the user's unused ones (revoked_at); rows go with their user.
    sql: `
      CREATE TABLE password_resets (
        code_hash text PRIMARY KEY,
        user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at bigint NOT NULL,
        expires_at bigint NOT NULL,
        used_at bigint,
        revoked_at bigint
      );
      CREATE INDEX password_resets_user ON password_resets(user_id);
    `,
  },
  {
    version: 10,
    name: "camera labels",
    // What operators call a camera, beside the name the agent uploads under (which never changes).
    // Null: the camera is shown by its name.
    sql: `
      ALTER TABLE cameras ADD COLUMN label text;
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
        vehicle_id text NOT NULL REFERENCES vehicles(id) ON DELETE CASCADE,
        reported_at bigint NOT NULL,
        status text NOT NULL,
        PRIMARY KEY (vehicle_id, reported_at)
      );
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
        scope_id text PRIMARY KEY,
        scope text NOT NULL CHECK (scope IN ('fleet', 'vehicle', 'camera')),
        fleet_id text NOT NULL REFERENCES fleets(id) ON DELETE CASCADE,
        vehicle_id text REFERENCES vehicles(id) ON DELETE CASCADE,
        camera_id text REFERENCES cameras(id) ON DELETE CASCADE,
        mode text NOT NULL CHECK (mode IN ('continuous', 'proxy', 'on-request')),
        proxy_height integer NOT NULL,
        proxy_bitrate_kbps integer NOT NULL,
        recall_max_seconds integer,
        updated_at bigint NOT NULL
      );
      CREATE INDEX upload_policies_vehicle ON upload_policies(vehicle_id);
      CREATE TABLE recalls (
        id text PRIMARY KEY,
        fleet_id text NOT NULL,
        vehicle_id text NOT NULL REFERENCES vehicles(id) ON DELETE CASCADE,
        camera_id text NOT NULL REFERENCES cameras(id) ON DELETE CASCADE,
        from_ms bigint NOT NULL,
        to_ms bigint NOT NULL,
        origin text NOT NULL CHECK (origin IN ('operator', 'event')),
        created_by text,
        state text NOT NULL CHECK (
          state IN ('queued', 'uploading', 'complete', 'partial', 'expired', 'cancelled')
        ),
        progress text,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        finished_at bigint,
        CHECK (to_ms > from_ms)
      );
      CREATE INDEX recalls_vehicle_active ON recalls(vehicle_id, created_at)
        WHERE finished_at IS NULL;
      CREATE INDEX recalls_camera ON recalls(camera_id, created_at);
      CREATE TABLE vehicle_inventory (
        vehicle_id text NOT NULL REFERENCES vehicles(id) ON DELETE CASCADE,
        camera text NOT NULL,
        rendition text NOT NULL CHECK (rendition IN ('full', 'proxy')),
        ranges text NOT NULL,
        reported_at bigint NOT NULL,
        PRIMARY KEY (vehicle_id, camera, rendition)
      );
    `,
  },
  {
    version: 13,
    name: "recording renditions and data usage",
    // As in SQLite. Adding a column with a constant default rewrites no rows.
    sql: `
      ALTER TABLE recordings ADD COLUMN rendition text NOT NULL DEFAULT 'full'
        CHECK (rendition IN ('full', 'proxy'));
      CREATE TABLE upload_usage (
        fleet_id text NOT NULL,
        vehicle_id text NOT NULL REFERENCES vehicles(id) ON DELETE CASCADE,
        day text NOT NULL,
        camera_id text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('continuous', 'proxy', 'recall', 'event', 'live')),
        bytes bigint NOT NULL,
        objects bigint NOT NULL,
        PRIMARY KEY (vehicle_id, day, camera_id, kind)
      );
    `,
  },
  {
    version: 14,
    name: "vehicle events, event rules, fleet webhooks",
    // As in SQLite.
    sql: `
      CREATE TABLE vehicle_events (
        id text PRIMARY KEY,
        fleet_id text NOT NULL REFERENCES fleets(id) ON DELETE CASCADE,
        vehicle_id text NOT NULL REFERENCES vehicles(id) ON DELETE CASCADE,
        kind text NOT NULL,
        at_ms bigint NOT NULL,
        metadata text,
        source text NOT NULL CHECK (source IN ('vehicle', 'operator')),
        client_id text,
        created_by text,
        created_at bigint NOT NULL,
        recalls text
      );
      CREATE UNIQUE INDEX vehicle_events_client ON vehicle_events(vehicle_id, client_id);
      CREATE INDEX vehicle_events_time ON vehicle_events(vehicle_id, at_ms);
      CREATE TABLE event_rules (
        fleet_id text PRIMARY KEY REFERENCES fleets(id) ON DELETE CASCADE,
        rules text NOT NULL,
        updated_at bigint NOT NULL
      );
      CREATE TABLE fleet_webhooks (
        fleet_id text PRIMARY KEY REFERENCES fleets(id) ON DELETE CASCADE,
        url text NOT NULL,
        secret text NOT NULL,
        updated_at bigint NOT NULL
      );
    `,
  },
];
