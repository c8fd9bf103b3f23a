import {
  type Camera,
  type Catalog,
  type DeviceCredential,
  type ExpiredCount,
  type Fleet,
  type FleetSettings,
  newId,
  type User,
  type Vehicle,
} from "../catalog/mod.ts";
import { hashPassword, type Identity } from "../auth/mod.ts";
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from "../errors/mod.ts";
import { retentionCutoff } from "../retention/mod.ts";
import { HeartbeatHistory } from "./heartbeat_history.ts";
import {
  CameraLabelSchema,
  CameraNameSchema,
  EmailSchema,
  FleetNameSchema,
  FleetRoleSchema,
  IdSchema,
  LiveLadderSchema,
  parseField,
  PasswordSchema,
  RetentionDaysSchema,
  SegmentSecondsSchema,
  TimeZoneSchema,
  VehicleNameSchema,
} from "./schemas.ts";

/** A new device credential with its one-time enrolment code. */
export interface Enrolment {
  credential: DeviceCredential;
  /** Shown once: the vehicle redeems it with `vehicle enrol`. */
  code: string;
}

/** The retention dry-run: what keeping `retentionDays` days would delete now. */
export interface RetentionPreview {
  retentionDays: number | null;
  /** Recordings that ended before this go; null when nothing does (keep forever). */
  cutoff: Date | null;
  expired: ExpiredCount;
}

/**
 * Fleets, their people, vehicles, cameras and device credentials: the rules both the API and the
 * admin CLI go through. Lookups are always by fleet, and anything outside it is "not found".
 */
export class FleetRegistry {
  /** Each vehicle's recent heartbeats, kept in the catalog for `heartbeatHistoryMs`. */
  readonly heartbeats: HeartbeatHistory;

  constructor(
    private readonly catalog: Catalog,
    private readonly identity: Identity,
    options: { heartbeatHistoryMs?: number } = {},
  ) {
    this.heartbeats = new HeartbeatHistory(catalog.vehicleStatus, options.heartbeatHistoryMs);
  }

  createFleet(name: string): Promise<Fleet> {
    return this.catalog.fleets.create({ name: parseField(FleetNameSchema, name, "name") });
  }

  listFleets(): Promise<Fleet[]> {
    return this.catalog.fleets.list();
  }

  async fleet(id: string): Promise<Fleet> {
    const fleet = IdSchema.safeParse(id).success ? await this.catalog.fleets.get(id) : undefined;
    if (!fleet) throw new NotFoundError(`Fleet "${id}" not found`);
    return fleet;
  }

  async renameFleet(id: string, name: string): Promise<Fleet> {
    await this.fleet(id);
    return (await this.catalog.fleets.rename(id, parseField(FleetNameSchema, name, "name")))!;
  }

  /**
   * Changes a fleet's name and/or retention (days, or null to keep recordings forever). Names
   * are the labels the platform owner gives tenants, so only a caller who sees every fleet
   * (`seesAllFleets`, the default) may change one: a fleet admin renaming would learn which names
   * other fleets hold. Naming no change is a ValidationError.
   */
  async updateFleet(
    id: string,
    changes: { name?: string; retentionDays?: number | null } & FleetSettings,
    options: { seesAllFleets?: boolean } = {},
  ): Promise<Fleet> {
    await this.fleet(id);
    if (changes.name !== undefined && !(options.seesAllFleets ?? true)) {
      throw new ForbiddenError("Only platform owners may do this");
    }
    const settings: FleetSettings = {
      timeZone: changes.timeZone === undefined
        ? undefined
        : parseField(TimeZoneSchema, changes.timeZone, "timeZone"),
      segmentSeconds: changes.segmentSeconds === undefined
        ? undefined
        : parseField(SegmentSecondsSchema, changes.segmentSeconds, "segmentSeconds"),
      liveLadder: changes.liveLadder === undefined
        ? undefined
        : parseField(LiveLadderSchema, changes.liveLadder, "liveLadder"),
    };
    const someSetting = Object.values(settings).some((value) => value !== undefined);
    if (changes.name === undefined && changes.retentionDays === undefined && !someSetting) {
      throw new ValidationError(
        `Cannot change fleet "${id}": nothing to change, give name, retentionDays, timeZone, segmentSeconds or liveLadder`,
        [{
          path: "",
          message: "give at least one of name, retentionDays, timeZone, segmentSeconds, liveLadder",
        }],
      );
    }
    const days = changes.retentionDays === undefined
      ? undefined
      : parseField(RetentionDaysSchema, changes.retentionDays, "retentionDays");
    let fleet = changes.name === undefined
      ? undefined
      : await this.catalog.fleets.rename(id, parseField(FleetNameSchema, changes.name, "name"));
    if (days !== undefined) fleet = await this.catalog.fleets.setRetention(id, days);
    if (someSetting) fleet = await this.catalog.fleets.setSettings(id, settings);
    if (!fleet) throw new NotFoundError(`Fleet "${id}" not found`);
    return fleet;
  }

  /**
   * The retention dry-run of a fleet: what the sweep would delete now if the fleet kept
   * `retentionDays` days (default: its own setting). Deletes nothing.
   */
  async retention(
    id: string,
    retentionDays?: number | null,
    now = Date.now(),
  ): Promise<RetentionPreview> {
    const fleet = await this.fleet(id);
    const days = retentionDays === undefined
      ? fleet.retentionDays
      : parseField(RetentionDaysSchema, retentionDays, "retentionDays");
    if (days === null) {
      return {
        retentionDays: null,
        cutoff: null,
        expired: { segments: 0, bytes: 0, recordings: 0 },
      };
    }
    const cutoff = retentionCutoff(days, now);
    return {
      retentionDays: days,
      cutoff: new Date(cutoff),
      expired: await this.catalog.retention.expired(id, cutoff),
    };
  }

  async deleteFleet(id: string): Promise<void> {
    await this.fleet(id);
    await this.catalog.fleets.delete(id);
    this.identity.changes.publish({ subject: "fleet", id });
  }

  /**
   * Adds a person to a fleet (or, with role `owner` and no fleet, to the platform). Emails are
   * the platform-wide sign-in name, so one taken in the same fleet is a ConflictError. One taken
   * elsewhere is a ConflictError only for a caller who sees every fleet (`seesAllFleets`, the
   * default: owners, the CLI); to a fleet admin the answer is the same as a success (nothing is
   * stored and the other account is untouched), so no fleet learns which emails another holds.
   */
  async createUser(
    input: { fleetId: string | null; email: string; role: User["role"]; password: string },
    options: { seesAllFleets?: boolean } = {},
  ): Promise<User> {
    const seesAllFleets = options.seesAllFleets ?? true;
    if (input.fleetId !== null) {
      await this.fleet(input.fleetId);
      parseField(FleetRoleSchema, input.role, "role");
    } else if (input.role !== "owner") {
      throw new ValidationError(`A user of role "${input.role}" needs a fleet`, [
        { path: "fleetId", message: "required unless the role is owner" },
      ]);
    }
    const email = parseField(EmailSchema, input.email, "email");
    const password = parseField(PasswordSchema, input.password, "password");
    const holder = await this.catalog.users.getByEmail(email);
    if (holder && (seesAllFleets || holder.fleetId === input.fleetId)) {
      throw new ConflictError(emailTaken(email, holder, input.fleetId));
    }
    // The password is hashed either way, so the answer takes as long with a taken email.
    const user = { fleetId: input.fleetId, email, role: input.role };
    const passwordHash = await hashPassword(password);
    const unstored = (): User => ({
      ...user,
      passwordHash,
      id: newId("usr"),
      disabled: false,
      createdAt: new Date(),
    });
    if (holder) return unstored();
    try {
      return await this.catalog.users.create({ ...user, passwordHash });
    } catch (error) {
      // Taken between the look-up and the insert.
      if (!(error instanceof ConflictError)) throw error;
      const raced = await this.catalog.users.getByEmail(email);
      if (!raced || seesAllFleets || raced.fleetId === input.fleetId) {
        throw new ConflictError(emailTaken(email, raced, input.fleetId));
      }
      return unstored();
    }
  }

  /** Users of a fleet; with `null`, every user of the platform. */
  async listUsers(fleetId: string | null): Promise<User[]> {
    if (fleetId === null) return await this.catalog.users.list();
    await this.fleet(fleetId);
    return await this.catalog.users.list(fleetId);
  }

  /** A user of `fleetId` (any user when `fleetId` is null). */
  async user(fleetId: string | null, id: string): Promise<User> {
    const user = IdSchema.safeParse(id).success ? await this.catalog.users.get(id) : undefined;
    if (!user || (fleetId !== null && user.fleetId !== fleetId)) {
      throw new NotFoundError(`User "${id}" not found`);
    }
    return user;
  }

  /**
   * Refuses to leave the platform without an enabled owner, or a fleet without an enabled admin,
   * when `user` is disabled, demoted or removed.
   */
  async #keepInCharge(user: User, action: string): Promise<void> {
    if (user.disabled || (user.role !== "owner" && user.role !== "admin")) return;
    const peers = (await this.catalog.users.list(user.role === "owner" ? undefined : user.fleetId!))
      .filter((u) => u.role === user.role && !u.disabled);
    if (peers.length <= 1) {
      const what = user.role === "owner" ? "owner" : "admin of its fleet";
      throw new ConflictError(`Cannot ${action} "${user.email}": it is the last enabled ${what}`);
    }
  }

  /**
   * Changes a user's role, password or disabled flag; every change signs the user out. Naming no
   * change is a ValidationError (and signs nobody out).
   */
  async updateUser(
    fleetId: string | null,
    id: string,
    changes: { role?: User["role"]; password?: string; disabled?: boolean },
  ): Promise<User> {
    const user = await this.user(fleetId, id);
    if (
      changes.role === undefined && changes.password === undefined && changes.disabled === undefined
    ) {
      throw new ValidationError(
        `Cannot change user "${id}": nothing to change, give role, password or disabled`,
        [{ path: "", message: "give at least one of role, password, disabled" }],
      );
    }
    if (changes.disabled) await this.#keepInCharge(user, "disable");
    if (changes.role !== undefined && changes.role !== user.role) {
      await this.#keepInCharge(user, "demote");
    }
    if (changes.role !== undefined && user.role !== "owner") {
      parseField(FleetRoleSchema, changes.role, "role");
    }
    const updated = await this.catalog.users.update(id, {
      role: user.role === "owner" ? undefined : changes.role,
      disabled: changes.disabled,
      passwordHash: changes.password === undefined
        ? undefined
        : await hashPassword(parseField(PasswordSchema, changes.password, "password")),
    });
    await this.identity.sessions.endAll(id, "user changed");
    return updated!;
  }

  async deleteUser(fleetId: string | null, id: string): Promise<void> {
    await this.#keepInCharge(await this.user(fleetId, id), "remove");
    await this.catalog.users.delete(id);
    this.identity.changes.publish({ subject: "user", id });
  }

  /** Registers a vehicle and issues its first enrolment code. */
  async registerVehicle(
    fleetId: string,
    name: string,
  ): Promise<{ vehicle: Vehicle; enrolment: Enrolment }> {
    await this.fleet(fleetId);
    const vehicle = await this.catalog.vehicles.create({
      fleetId,
      name: parseField(VehicleNameSchema, name, "name"),
    });
    return { vehicle, enrolment: await this.identity.devices.issue(fleetId, vehicle.id) };
  }

  async listVehicles(fleetId: string): Promise<Vehicle[]> {
    await this.fleet(fleetId);
    return await this.catalog.vehicles.list(fleetId);
  }

  async vehicle(fleetId: string, id: string): Promise<Vehicle> {
    const vehicle = IdSchema.safeParse(id).success
      ? await this.catalog.vehicles.get(fleetId, id)
      : undefined;
    if (!vehicle) throw new NotFoundError(`Vehicle "${id}" not found`);
    return vehicle;
  }

  async renameVehicle(fleetId: string, id: string, name: string): Promise<Vehicle> {
    await this.vehicle(fleetId, id);
    const renamed = await this.catalog.vehicles.rename(
      fleetId,
      id,
      parseField(VehicleNameSchema, name, "name"),
    );
    return renamed!;
  }

  /** Deletes a vehicle, its cameras and credentials (its tokens stop working at once). */
  async deleteVehicle(fleetId: string, id: string): Promise<void> {
    await this.vehicle(fleetId, id);
    await this.catalog.vehicles.delete(fleetId, id);
    this.identity.changes.publish({ subject: "vehicle", id });
  }

  /** Issues a further enrolment code, e.g. for a replaced on-board computer. */
  async issueCredential(fleetId: string, vehicleId: string): Promise<Enrolment> {
    await this.vehicle(fleetId, vehicleId);
    return await this.identity.devices.issue(fleetId, vehicleId);
  }

  async listCredentials(fleetId: string, vehicleId: string): Promise<DeviceCredential[]> {
    await this.vehicle(fleetId, vehicleId);
    return await this.catalog.credentials.list(fleetId, vehicleId);
  }

  /** Revokes a credential: the vehicle's tokens stop working at their next request. */
  async revokeCredential(
    fleetId: string,
    vehicleId: string,
    id: string,
  ): Promise<DeviceCredential> {
    await this.vehicle(fleetId, vehicleId);
    const found = IdSchema.safeParse(id).success
      ? await this.catalog.credentials.get(id)
      : undefined;
    if (!found || found.fleetId !== fleetId || found.vehicleId !== vehicleId) {
      throw new NotFoundError(`Credential "${id}" not found`);
    }
    return (await this.identity.devices.revoke(fleetId, id))!;
  }

  async addCamera(fleetId: string, vehicleId: string, name: string): Promise<Camera> {
    await this.vehicle(fleetId, vehicleId);
    return await this.catalog.cameras.create({
      fleetId,
      vehicleId,
      name: parseField(CameraNameSchema, name, "name"),
    });
  }

  async listCameras(fleetId: string, vehicleId: string): Promise<Camera[]> {
    await this.vehicle(fleetId, vehicleId);
    return await this.catalog.cameras.list(fleetId, vehicleId);
  }

  async camera(fleetId: string, vehicleId: string, id: string): Promise<Camera> {
    const camera = IdSchema.safeParse(id).success
      ? await this.catalog.cameras.get(fleetId, id)
      : undefined;
    if (!camera || camera.vehicleId !== vehicleId) {
      throw new NotFoundError(`Camera "${id}" not found`);
    }
    return camera;
  }

  /**
   * Sets what operators call a camera (null, or an empty or blank label, clears it); its name,
   * which the agent uploads under, stays.
   */
  async labelCamera(
    fleetId: string,
    vehicleId: string,
    id: string,
    label: string | null,
  ): Promise<Camera> {
    await this.camera(fleetId, vehicleId, id);
    const value = label === null || label.trim() === ""
      ? null
      : parseField(CameraLabelSchema, label, "label");
    return (await this.catalog.cameras.setLabel(fleetId, id, value))!;
  }

  async deleteCamera(fleetId: string, vehicleId: string, id: string): Promise<void> {
    await this.camera(fleetId, vehicleId, id);
    await this.catalog.cameras.delete(fleetId, id);
  }
}

/** The conflict message for an email `holder` already uses, said from `fleetId`'s side. */
function emailTaken(email: string, holder: User | undefined, fleetId: string | null): string {
  if (holder && holder.fleetId === fleetId && fleetId !== null) {
    return `A user with email "${email}" already exists in this fleet`;
  }
  return `A user with email "${email}" already exists`;
}
