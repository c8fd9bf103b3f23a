/**
 * The catalog's entities and repository interfaces. Implementations (embedded SQLite now,
 * PostgreSQL at scale) satisfy these with the same semantics; nothing here is dialect-specific.
 * Every fleet-owned entity is read and changed through its fleet id, so tenancy cannot be skipped.
 */
import type {
  InventoryRepository,
  RecallRepository,
  UploadPolicyRepository,
} from "./policy_types.ts";
import type {
  EventRuleRepository,
  FleetWebhookRepository,
  VehicleEventRepository,
} from "./event_types.ts";

/** A tenant: an operator's fleet of vehicles and the people who watch them. */
export interface Fleet {
  id: string;
  name: string;
  createdAt: Date;
  /** Days recordings are kept before the retention sweep deletes them; null keeps them forever. */
  retentionDays: number | null;
  /** IANA time zone the fleet's times are shown in; null: UTC. */
  timeZone: string | null;
  /** Default segment length in seconds for its vehicles; null: the agent's own setting. */
  segmentSeconds: number | null;
  /** Live quality ladder (`LIVE_LADDER` syntax); null: the server's. */
  liveLadder: string | null;
}

/** A fleet's settings; each one given is set (null restores its default). */
export interface FleetSettings {
  timeZone?: string | null;
  segmentSeconds?: number | null;
  liveLadder?: string | null;
}

/** What a user may do: `owner` manages the platform; the others act within one fleet. */
export type Role = "owner" | "admin" | "operator" | "viewer";

/** The fleet roles, most powerful first. */
export const FLEET_ROLES = ["admin", "operator", "viewer"] as const;

/** A person who signs in to the admin or an app. */
export interface User {
  id: string;
  email: string;
  role: Role;
  /** The fleet the role applies to; `null` for platform owners. */
  fleetId: string | null;
  passwordHash: string;
  disabled: boolean;
  createdAt: Date;
}

/** A vehicle of a fleet; it authenticates with a device credential. */
export interface Vehicle {
  id: string;
  fleetId: string;
  name: string;
  createdAt: Date;
}

/** One of a vehicle's cameras, named within the vehicle (`front`, `cabin`). */
export interface Camera {
  id: string;
  fleetId: string;
  vehicleId: string;
  /** The agent's key for the camera (uploads and heartbeats use it); never changes. */
  name: string;
  /** What operators call it (`Door, rear`); null: shown by its name. */
  label: string | null;
  createdAt: Date;
}

/**
 * A vehicle's device credential. It starts as a one-time enrolment code (stored hashed); the
 * vehicle redeems the code with the public half of a key pair it generated, and from then on
 * proves possession of that key to obtain short-lived device tokens.
 */
export interface DeviceCredential {
  id: string;
  fleetId: string;
  vehicleId: string;
  enrolmentExpiresAt: Date;
  enrolledAt: Date | null;
  publicJwk: JsonWebKey | null;
  revokedAt: Date | null;
  createdAt: Date;
}

/** A chain of rotating refresh tokens issued from one sign-in. */
export interface SessionFamily {
  id: string;
  userId: string;
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  revokedReason: string | null;
}

/** One refresh token of a family; only its hash is stored. */
export interface RefreshToken {
  tokenHash: string;
  familyId: string;
  expiresAt: Date;
  rotatedAt: Date | null;
}

/** A JWT signing key (ES256), kept so tokens outlive a restart and a rotation. */
export interface SigningKey {
  kid: string;
  privateJwk: JsonWebKey;
  publicJwk: JsonWebKey;
  createdAt: Date;
  /** Set when a newer key took over signing; the key still verifies until it is pruned. */
  retiredAt: Date | null;
}

/**
 * A capability link a user handed out: a playback link (signed playlist and clip URLs for a time
 * range) or a live link (a WHEP token). Every URL it signs names it, so revoking it, or its
 * maker losing the right to make it, ends those URLs too.
 */
export interface Link {
  id: string;
  kind: "playback" | "live";
  fleetId: string;
  vehicleId: string;
  cameraId: string;
  /** The user who made it. */
  createdBy: string;
  createdAt: Date;
  expiresAt: Date;
  /** The time range a playback link plays (`toMs` null: open-ended); null for live links. */
  fromMs: number | null;
  toMs: number | null;
  revokedAt: Date | null;
}

/** Which links a bulk revocation or a listing concerns, within one fleet. */
export interface LinkFilter {
  cameraId?: string;
  createdBy?: string;
  kind?: Link["kind"];
}

/** A key that signs capability URLs (HMAC-SHA256); retired keys verify until `verifyUntil`. */
export interface UrlSigningKey {
  kid: string;
  /** The key, base64. */
  secret: string;
  createdAt: Date;
  retiredAt: Date | null;
  /** When a retired key stops verifying; null while it signs. */
  verifyUntil: Date | null;
}

/** Fleets (tenants). */
export interface FleetRepository {
  create(input: { name: string }): Promise<Fleet>;
  get(id: string): Promise<Fleet | undefined>;
  list(): Promise<Fleet[]>;
  rename(id: string, name: string): Promise<Fleet | undefined>;
  /** Sets how many days the fleet's recordings are kept (null: forever). */
  setRetention(id: string, days: number | null): Promise<Fleet | undefined>;
  /** Sets the settings given (time zone, segment length, live ladder). */
  setSettings(id: string, settings: FleetSettings): Promise<Fleet | undefined>;
  /** Deletes an empty fleet; throws ConflictError while it still has users or vehicles. */
  delete(id: string): Promise<boolean>;
}

/** Users; fleet-scoped reads take the fleet id. */
export interface UserRepository {
  create(input: Omit<User, "id" | "createdAt" | "disabled">): Promise<User>;
  get(id: string): Promise<User | undefined>;
  getByEmail(email: string): Promise<User | undefined>;
  /** Users of one fleet, or every user when `fleetId` is undefined. */
  list(fleetId?: string): Promise<User[]>;
  update(
    id: string,
    changes: Partial<Pick<User, "role" | "passwordHash" | "disabled">>,
  ): Promise<User | undefined>;
  delete(id: string): Promise<boolean>;
  count(): Promise<number>;
}

/** Vehicles, always through their fleet. */
export interface VehicleRepository {
  create(input: { fleetId: string; name: string }): Promise<Vehicle>;
  get(fleetId: string, id: string): Promise<Vehicle | undefined>;
  list(fleetId: string): Promise<Vehicle[]>;
  rename(fleetId: string, id: string, name: string): Promise<Vehicle | undefined>;
  /** Deletes the vehicle with its cameras and credentials. */
  delete(fleetId: string, id: string): Promise<boolean>;
}

/** Cameras, always through their fleet. */
export interface CameraRepository {
  create(input: { fleetId: string; vehicleId: string; name: string }): Promise<Camera>;
  get(fleetId: string, id: string): Promise<Camera | undefined>;
  list(fleetId: string, vehicleId: string): Promise<Camera[]>;
  /** Sets (or, with null, clears) the camera's label; its name stays. */
  setLabel(fleetId: string, id: string, label: string | null): Promise<Camera | undefined>;
  delete(fleetId: string, id: string): Promise<boolean>;
}

/** Device credentials of vehicles. */
export interface CredentialRepository {
  create(
    input: { fleetId: string; vehicleId: string; codeHash: string; enrolmentExpiresAt: Date },
  ): Promise<DeviceCredential>;
  get(id: string): Promise<DeviceCredential | undefined>;
  list(fleetId: string, vehicleId: string): Promise<DeviceCredential[]>;
  /**
   * Redeems an enrolment code: binds `publicJwk` to the credential whose code hash matches, if it
   * is neither enrolled, expired nor revoked. Returns the credential, or undefined.
   */
  enrol(codeHash: string, publicJwk: JsonWebKey, now: Date): Promise<DeviceCredential | undefined>;
  revoke(fleetId: string, id: string, now: Date): Promise<DeviceCredential | undefined>;
  /** Records a device assertion's id; false when it was seen before (a replay). */
  useAssertion(jti: string, expiresAt: Date, now: Date): Promise<boolean>;
}

/** Refresh-token families and their tokens. */
export interface SessionRepository {
  createFamily(input: { userId: string; expiresAt: Date }): Promise<SessionFamily>;
  getFamily(id: string): Promise<SessionFamily | undefined>;
  addToken(token: RefreshToken): Promise<void>;
  getToken(tokenHash: string): Promise<RefreshToken | undefined>;
  /**
   * Atomically marks `tokenHash` rotated and stores `next`; false when the token had already been
   * rotated (a replay), in which case nothing is stored.
   */
  rotate(tokenHash: string, next: RefreshToken, now: Date): Promise<boolean>;
  revokeFamily(id: string, reason: string, now: Date): Promise<void>;
  revokeUser(userId: string, reason: string, now: Date): Promise<void>;
  /** Deletes families that expired before `now`. */
  prune(now: Date): Promise<number>;
}

/** One-time password reset codes, stored as hashes; a user has at most one usable at a time. */
export interface PasswordResetRepository {
  /** Stores a code for a user and revokes every other unused code of theirs, in one step. */
  issue(input: { userId: string; codeHash: string; expiresAt: Date }, now: Date): Promise<void>;
  /**
   * Uses the code with this hash if it is unused, unrevoked and unexpired; returns its user's id,
   * or undefined. Of two concurrent uses, only one gets the id.
   */
  redeem(codeHash: string, now: Date): Promise<string | undefined>;
  /** Revokes the user's unused codes (their password changed some other way). */
  revokeUser(userId: string, now: Date): Promise<void>;
}

/** JWT signing keys. */
export interface SigningKeyRepository {
  list(): Promise<SigningKey[]>;
  /** Adds `key` and retires every other active key, in one step. */
  activate(key: SigningKey): Promise<void>;
  delete(kid: string): Promise<void>;
}

/** Capability links. Rows stay until well after they expire, so a link's URLs never outlive its row. */
export interface LinkRepository {
  create(input: Omit<Link, "id" | "createdAt" | "revokedAt">): Promise<Link>;
  get(fleetId: string, id: string): Promise<Link | undefined>;
  /** Unexpired links of a fleet matching `filter`, newest first. */
  list(fleetId: string, filter: LinkFilter, now: Date): Promise<Link[]>;
  /** Revokes unexpired, unrevoked links of a fleet matching `filter`; returns their ids. */
  revoke(fleetId: string, filter: LinkFilter & { id?: string }, now: Date): Promise<string[]>;
  /**
   * Ids of unexpired links that no longer hold: revoked, or whose maker is gone, disabled, out of
   * the link's fleet, or (for a live link) no longer an admin or operator.
   */
  unusable(now: Date): Promise<string[]>;
  /** Deletes links that expired before `before`. */
  prune(before: Date): Promise<number>;
}

/** Keys that sign capability URLs. */
export interface UrlSigningKeyRepository {
  list(): Promise<UrlSigningKey[]>;
  /** Adds the first key unless there is one; returns whether it was added. */
  addFirst(key: UrlSigningKey): Promise<boolean>;
  /** Adds `key` and retires every other signing key, to verify until `verifyUntil`, in one step. */
  activate(key: UrlSigningKey, verifyUntil: Date): Promise<void>;
  /** Deletes retired keys whose overlap ended before `now`. */
  prune(now: Date): Promise<number>;
}

/** A segment as ingest announces it and the indexer records it. */
export interface SegmentRecord extends Segment {
  fleetId: string;
  vehicleId: string;
  cameraId: string;
  /** Its recording's rendition (a new recording takes it); default "full". */
  rendition?: Rendition;
  /** What its bytes count as in the vehicle's data usage; default "continuous". */
  kind?: UsageKind;
  /** When the server stored it (its usage day); default: when indexed. */
  storedAtMs?: number;
}

/** Which of a camera's renditions a recording is: full quality or the low-bitrate proxy. */
export type Rendition = "full" | "proxy";

/** The renditions, in order of quality (best first). */
export const RENDITIONS = ["full", "proxy"] as const;

/** What uploaded bytes count as: continuous upload, the proxy, a recall, an event's recall, live. */
export type UsageKind = "continuous" | "proxy" | "recall" | "event" | "live";

/** The usage kinds. */
export const USAGE_KINDS = ["continuous", "proxy", "recall", "event", "live"] as const;

/** Bytes the server stored for one camera of a vehicle on one UTC day, of one kind. */
export interface UsageDay {
  vehicleId: string;
  cameraId: string;
  /** The UTC day, `YYYY-MM-DD`. */
  day: string;
  kind: UsageKind;
  bytes: number;
  /** Objects (media and init segments) these bytes are. */
  objects: number;
}

/** A recording's init segment as the indexer records it. */
export interface InitRecord {
  fleetId: string;
  vehicleId: string;
  cameraId: string;
  recordingId: string;
  /** Its recording's rendition (a new recording takes it); default "full". */
  rendition?: Rendition;
  /** Its bytes, counted in the vehicle's data usage the first time the init is recorded. */
  size?: number;
  kind?: UsageKind;
  storedAtMs?: number;
}

/** Bytes stored per vehicle, camera, UTC day and kind, as the indexer recorded them. */
export interface UsageRepository {
  /** A vehicle's usage on the UTC days `fromDay`..`toDay` (`YYYY-MM-DD`, inclusive), by day. */
  list(fleetId: string, vehicleId: string, fromDay: string, toDay: string): Promise<UsageDay[]>;
  /** Adds bytes (and objects, default 0) to a vehicle's usage of one camera, UTC day and kind. */
  add(fleetId: string, entry: Omit<UsageDay, "objects"> & { objects?: number }): Promise<void>;
}

/** Recordings and their segments, always through fleet and camera. */
export interface RecordingRepository {
  /**
   * Records segments (a batch, in one transaction), creating their recordings as needed and
   * widening their time ranges. A segment already indexed is skipped. Returns how many were new.
   */
  indexSegments(segments: SegmentRecord[]): Promise<number>;
  /**
   * Records a recording's init segment, creating the recording if it has no segment yet; its
   * bytes count in the vehicle's usage the first time.
   */
  setInit(input: InitRecord, initKey: string): Promise<void>;
  /** Marks a recording finished. */
  close(cameraId: string, recordingId: string, at: Date): Promise<void>;
  get(fleetId: string, cameraId: string, recordingId: string): Promise<Recording | undefined>;
  /** Recordings of a camera overlapping [fromMs, toMs), oldest first; of one rendition if given. */
  list(
    fleetId: string,
    cameraId: string,
    fromMs?: number,
    toMs?: number,
    rendition?: Rendition,
  ): Promise<Recording[]>;
  /** Segments of one recording in sequence order. */
  segments(cameraId: string, recordingId: string): Promise<Segment[]>;
  /** Segments of a camera's recordings of `rendition` overlapping [fromMs, toMs), by start time. */
  segmentsBetween(
    cameraId: string,
    fromMs: number,
    toMs: number,
    rendition?: Rendition,
  ): Promise<Segment[]>;
  /** {@linkcode segments}, with only what a playlist lists of each. */
  playlistSegments(cameraId: string, recordingId: string): Promise<PlaylistSegment[]>;
  /** {@linkcode segmentsBetween}, with only what a playlist lists of each: a cheaper read. */
  playlistSegmentsBetween(
    cameraId: string,
    fromMs: number,
    toMs: number,
    rendition?: Rendition,
  ): Promise<PlaylistSegment[]>;
}

/** What retention would delete of a fleet at a cutoff: the dry-run count. */
export interface ExpiredCount {
  /** Media segments that ended by the cutoff. */
  segments: number;
  /** Their bytes. */
  bytes: number;
  /** Recordings that go whole: ended, and closed by their vehicle, by the cutoff. */
  recordings: number;
}

/** A stored object whose catalog row retention deleted, queued until the store deleted it too. */
export interface ExpiredObject {
  key: string;
  kind: "segment" | "init";
  /** Bytes of a media segment; 0 for an init segment (the catalog does not know its size). */
  size: number;
}

/**
 * What the retention sweep needs of the catalog. Catalog rows go first, each batch in one
 * transaction that also queues the objects' keys; the store deletes the queued objects and then
 * they are forgotten. So a playlist never lists an object that is gone, and a crash at any point
 * leaves only queued keys, which the next sweep finishes.
 */
export interface RetentionRepository {
  /** The dry-run count of `fleetId` at `cutoffMs` (epoch ms): deletes nothing. */
  expired(fleetId: string, cutoffMs: number): Promise<ExpiredCount>;
  /** Ids of the fleet's cameras. */
  cameraIds(fleetId: string): Promise<string[]>;
  /**
   * Deletes up to `limit` of a camera's segments that ended by `cutoffMs` (oldest first), narrows
   * their recordings, and queues the objects; returns how many segments this call deleted.
   */
  expireSegments(cameraId: string, cutoffMs: number, limit: number): Promise<number>;
  /**
   * Deletes up to `limit` of a fleet's recordings that are over (ended, and closed by the
   * vehicle, by `cutoffMs`) and hold no segment any more, and queues their init segments; returns the cameras
   * of the recordings this call deleted (one entry per recording).
   */
  expireRecordings(fleetId: string, cutoffMs: number, limit: number): Promise<string[]>;
  /** Up to `limit` queued objects, oldest first. */
  queued(limit: number): Promise<ExpiredObject[]>;
  /** Forgets queued objects the store has deleted; returns those this call forgot. */
  forget(keys: readonly string[]): Promise<ExpiredObject[]>;
}

/** What a vehicle last reported in its heartbeat. */
export interface VehicleStatus {
  vehicleId: string;
  reportedAt: Date;
  status: Record<string, unknown>;
}

/** A camera's recording activity as the catalog sees it. */
export interface CameraActivity {
  cameraId: string;
  vehicleId: string;
  name: string;
  /** The operator's label; null: none. */
  label: string | null;
  /** End of its latest recording; null before the first segment. */
  lastSegmentAt: Date | null;
  /** Bytes of its segments that started at or after the `sinceMs` asked for. */
  bytesSince: number;
}

/** Which of a vehicle's heartbeats its history keeps. */
export interface HeartbeatKeep {
  /** Heartbeats reported before this are deleted. */
  since: Date;
  /** At most this many of the newest are kept. */
  atMost: number;
}

/** Vehicles' latest heartbeats, and their recent history. */
export interface VehicleStatusRepository {
  /**
   * Stores a heartbeat as the vehicle's latest and, with `keep`, adds it to the vehicle's history,
   * deleting the vehicle's heartbeats `keep` no longer covers, in one step.
   */
  report(
    vehicleId: string,
    status: Record<string, unknown>,
    at: Date,
    keep?: HeartbeatKeep,
  ): Promise<void>;
  get(vehicleId: string): Promise<VehicleStatus | undefined>;
  /** The vehicle's heartbeats reported since `since`, newest first, at most `limit`. */
  history(vehicleId: string, since: Date, limit: number): Promise<VehicleStatus[]>;
  /** The latest heartbeat of every vehicle of a fleet that has reported one, in one query. */
  listFleet(fleetId: string): Promise<VehicleStatus[]>;
  /** Every camera of a fleet with its last segment and bytes recorded since `sinceMs`, in one query. */
  cameraActivity(fleetId: string, sinceMs: number): Promise<CameraActivity[]>;
}

/**
 * Clock offsets of re-timed recordings (server time minus the vehicle's, per camera and
 * recording), shared by every ingest process so a recording keeps one offset across processes
 * and restarts. The first offset stored wins; rows go with their camera or, by retention, with
 * their recording.
 */
export interface RetimeRepository {
  /**
   * The recording's offset: the one stored, else `deltaMs`, stored now. With `replacing`, a
   * stored offset equal to it is first replaced by `deltaMs` (the vehicle's clock jumped within
   * the recording). Callers racing on one recording all get the same answer.
   */
  claim(
    cameraId: string,
    recordingId: string,
    deltaMs: number,
    replacing?: number,
  ): Promise<number>;
  /** The recording's stored offset, if it was re-timed. */
  get(cameraId: string, recordingId: string): Promise<number | undefined>;
}

/** Named server secrets shared by every process (e.g. the media URL signing key). */
export interface SecretRepository {
  /** The secret called `name`, created with `generate()` the first time. */
  getOrCreate(name: string, generate: () => string): Promise<string>;
}

/** The catalog: every repository, plus lifecycle. */
export interface Catalog {
  readonly kind: string;
  readonly fleets: FleetRepository;
  readonly users: UserRepository;
  readonly vehicles: VehicleRepository;
  readonly cameras: CameraRepository;
  readonly credentials: CredentialRepository;
  readonly sessions: SessionRepository;
  readonly passwordResets: PasswordResetRepository;
  readonly signingKeys: SigningKeyRepository;
  readonly recordings: RecordingRepository;
  readonly vehicleStatus: VehicleStatusRepository;
  readonly secrets: SecretRepository;
  readonly links: LinkRepository;
  readonly urlSigningKeys: UrlSigningKeyRepository;
  readonly retention: RetentionRepository;
  readonly retimes: RetimeRepository;
  readonly uploadPolicies: UploadPolicyRepository;
  readonly recalls: RecallRepository;
  readonly inventory: InventoryRepository;
  readonly events: VehicleEventRepository;
  readonly eventRules: EventRuleRepository;
  readonly webhooks: FleetWebhookRepository;
  readonly usage: UsageRepository;
  /** Throws when the catalog cannot serve queries; used by `/readyz`. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A recording: one continuous capture run of one camera, as the vehicle cut it (the vehicle starts
 * a new one when its capture restarts or its clock jumps). Its id is chosen by the vehicle.
 */
export interface Recording {
  id: string;
  fleetId: string;
  vehicleId: string;
  cameraId: string;
  /** Wall-clock start of the earliest segment indexed so far. */
  startedAt: Date;
  /** Wall-clock end of the latest segment indexed so far. */
  endedAt: Date;
  segmentCount: number;
  /** Full quality, or the proxy made beside it by the same capture. */
  rendition: Rendition;
  /** Object key of the CMAF init segment, once uploaded. */
  initKey: string | null;
  /** Set when the vehicle said the recording is over (or a newer one superseded it). */
  closedAt: Date | null;
}

/** One media segment of a recording, as indexed from a `segment.stored` event. */
export interface Segment {
  recordingId: string;
  sequence: number;
  /** Wall-clock time of the segment's first frame, from the vehicle. */
  startMs: number;
  durationMs: number;
  size: number;
  /** SHA-256 of the bytes, base64. */
  sha256: string;
  objectKey: string;
}

/**
 * What a playlist lists of a segment: no digest and no object key. Segments are stored as ingest
 * names them (`<recording prefix><sequence, 10 digits>.m4s`, `.ts` for MPEG-TS), which is all the
 * media URLs need; reading the keys would cost a string per segment.
 */
export type PlaylistSegment = Pick<
  Segment,
  "recordingId" | "sequence" | "startMs" | "durationMs" | "size"
>;
