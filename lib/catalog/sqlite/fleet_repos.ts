import { ConflictError } from "../../errors/mod.ts";
import { newId } from "../ids.ts";
import type {
  Camera,
  CameraRepository,
  Fleet,
  FleetRepository,
  FleetSettings,
  Role,
  User,
  UserRepository,
  Vehicle,
  VehicleRepository,
} from "../types.ts";
import { type Database, type Row, toDate } from "./database.ts";

const fleetOf = (row: Row): Fleet => ({
  id: String(row.id),
  name: String(row.name),
  createdAt: toDate(row.created_at)!,
  retentionDays: row.retention_days === null ? null : Number(row.retention_days),
  timeZone: row.time_zone === null || row.time_zone === undefined ? null : String(row.time_zone),
  segmentSeconds: row.segment_seconds === null || row.segment_seconds === undefined
    ? null
    : Number(row.segment_seconds),
  liveLadder: row.live_ladder === null || row.live_ladder === undefined
    ? null
    : String(row.live_ladder),
});

const userOf = (row: Row): User => ({
  id: String(row.id),
  email: String(row.email),
  role: String(row.role) as Role,
  fleetId: row.fleet_id === null ? null : String(row.fleet_id),
  passwordHash: String(row.password_hash),
  disabled: Number(row.disabled) === 1,
  createdAt: toDate(row.created_at)!,
});

const vehicleOf = (row: Row): Vehicle => ({
  id: String(row.id),
  fleetId: String(row.fleet_id),
  name: String(row.name),
  createdAt: toDate(row.created_at)!,
});

const cameraOf = (row: Row): Camera => ({
  id: String(row.id),
  fleetId: String(row.fleet_id),
  vehicleId: String(row.vehicle_id),
  name: String(row.name),
  label: row.label === null || row.label === undefined ? null : String(row.label),
  createdAt: toDate(row.created_at)!,
});

/** Fleets in SQLite. */
export class SqliteFleets implements FleetRepository {
  constructor(private readonly db: Database) {}

  create({ name }: { name: string }): Promise<Fleet> {
    const fleet: Fleet = {
      id: newId("flt"),
      name,
      createdAt: new Date(),
      retentionDays: null,
      timeZone: null,
      segmentSeconds: null,
      liveLadder: null,
    };
    this.db.insert(
      "INSERT INTO fleets (id, name, created_at) VALUES (?, ?, ?)",
      `A fleet named "${name}" already exists`,
      fleet.id,
      name,
      fleet.createdAt.getTime(),
    );
    return Promise.resolve(fleet);
  }

  get(id: string): Promise<Fleet | undefined> {
    const row = this.db.get("SELECT * FROM fleets WHERE id = ?", id);
    return Promise.resolve(row && fleetOf(row));
  }

  list(): Promise<Fleet[]> {
    return Promise.resolve(this.db.all("SELECT * FROM fleets ORDER BY name").map(fleetOf));
  }

  async rename(id: string, name: string): Promise<Fleet | undefined> {
    try {
      this.db.run("UPDATE fleets SET name = ? WHERE id = ?", name, id);
    } catch (error) {
      if (String(error).includes("UNIQUE")) {
        throw new ConflictError(`A fleet named "${name}" already exists`);
      }
      throw error;
    }
    return await this.get(id);
  }

  async setRetention(id: string, days: number | null): Promise<Fleet | undefined> {
    this.db.run("UPDATE fleets SET retention_days = ? WHERE id = ?", days, id);
    return await this.get(id);
  }

  async setSettings(id: string, settings: FleetSettings): Promise<Fleet | undefined> {
    const columns = {
      time_zone: settings.timeZone,
      segment_seconds: settings.segmentSeconds,
      live_ladder: settings.liveLadder,
    };
    for (const [column, value] of Object.entries(columns)) {
      if (value !== undefined) {
        this.db.run(`UPDATE fleets SET ${column} = ? WHERE id = ?`, value, id);
      }
    }
    return await this.get(id);
  }

  delete(id: string): Promise<boolean> {
    return Promise.resolve(this.db.transaction(() => {
      const used = this.db.get(
        "SELECT (SELECT count(*) FROM users WHERE fleet_id = ?) AS users, (SELECT count(*) FROM vehicles WHERE fleet_id = ?) AS vehicles",
        id,
        id,
      )!;
      if (Number(used.users) || Number(used.vehicles)) {
        throw new ConflictError(
          `Cannot delete fleet "${id}": it still has ${used.users} users and ${used.vehicles} vehicles`,
        );
      }
      return this.db.run("DELETE FROM fleets WHERE id = ?", id) > 0;
    }));
  }
}

/** Users in SQLite. */
export class SqliteUsers implements UserRepository {
  constructor(private readonly db: Database) {}

  create(input: Omit<User, "id" | "createdAt" | "disabled">): Promise<User> {
    const user: User = { ...input, id: newId("usr"), disabled: false, createdAt: new Date() };
    this.db.insert(
      "INSERT INTO users (id, email, role, fleet_id, password_hash, disabled, created_at) VALUES (?, ?, ?, ?, ?, 0, ?)",
      `A user with email "${input.email}" already exists`,
      user.id,
      user.email,
      user.role,
      user.fleetId,
      user.passwordHash,
      user.createdAt.getTime(),
    );
    return Promise.resolve(user);
  }

  get(id: string): Promise<User | undefined> {
    const row = this.db.get("SELECT * FROM users WHERE id = ?", id);
    return Promise.resolve(row && userOf(row));
  }

  getByEmail(email: string): Promise<User | undefined> {
    const row = this.db.get("SELECT * FROM users WHERE email = ?", email);
    return Promise.resolve(row && userOf(row));
  }

  list(fleetId?: string): Promise<User[]> {
    const rows = fleetId === undefined
      ? this.db.all("SELECT * FROM users ORDER BY email")
      : this.db.all("SELECT * FROM users WHERE fleet_id = ? ORDER BY email", fleetId);
    return Promise.resolve(rows.map(userOf));
  }

  async update(
    id: string,
    changes: Partial<Pick<User, "role" | "passwordHash" | "disabled">>,
  ): Promise<User | undefined> {
    if (changes.role !== undefined) {
      this.db.run("UPDATE users SET role = ? WHERE id = ?", changes.role, id);
    }
    if (changes.passwordHash !== undefined) {
      this.db.run("UPDATE users SET password_hash = ? WHERE id = ?", changes.passwordHash, id);
    }
    if (changes.disabled !== undefined) {
      this.db.run("UPDATE users SET disabled = ? WHERE id = ?", changes.disabled ? 1 : 0, id);
    }
    return await this.get(id);
  }

  delete(id: string): Promise<boolean> {
    return Promise.resolve(this.db.run("DELETE FROM users WHERE id = ?", id) > 0);
  }

  count(): Promise<number> {
    return Promise.resolve(Number(this.db.get("SELECT count(*) AS n FROM users")!.n));
  }
}

/** Vehicles in SQLite. */
export class SqliteVehicles implements VehicleRepository {
  constructor(private readonly db: Database) {}

  create({ fleetId, name }: { fleetId: string; name: string }): Promise<Vehicle> {
    const vehicle: Vehicle = { id: newId("veh"), fleetId, name, createdAt: new Date() };
    this.db.insert(
      "INSERT INTO vehicles (id, fleet_id, name, created_at) VALUES (?, ?, ?, ?)",
      `A vehicle named "${name}" already exists in this fleet`,
      vehicle.id,
      fleetId,
      name,
      vehicle.createdAt.getTime(),
    );
    return Promise.resolve(vehicle);
  }

  get(fleetId: string, id: string): Promise<Vehicle | undefined> {
    const row = this.db.get("SELECT * FROM vehicles WHERE fleet_id = ? AND id = ?", fleetId, id);
    return Promise.resolve(row && vehicleOf(row));
  }

  list(fleetId: string): Promise<Vehicle[]> {
    return Promise.resolve(
      this.db.all("SELECT * FROM vehicles WHERE fleet_id = ? ORDER BY name", fleetId).map(
        vehicleOf,
      ),
    );
  }

  async rename(fleetId: string, id: string, name: string): Promise<Vehicle | undefined> {
    try {
      this.db.run("UPDATE vehicles SET name = ? WHERE fleet_id = ? AND id = ?", name, fleetId, id);
    } catch (error) {
      if (String(error).includes("UNIQUE")) {
        throw new ConflictError(`A vehicle named "${name}" already exists in this fleet`);
      }
      throw error;
    }
    return await this.get(fleetId, id);
  }

  delete(fleetId: string, id: string): Promise<boolean> {
    return Promise.resolve(
      this.db.run("DELETE FROM vehicles WHERE fleet_id = ? AND id = ?", fleetId, id) > 0,
    );
  }
}

/** Cameras in SQLite. */
export class SqliteCameras implements CameraRepository {
  constructor(private readonly db: Database) {}

  create(input: { fleetId: string; vehicleId: string; name: string }): Promise<Camera> {
    const camera: Camera = { ...input, id: newId("cam"), label: null, createdAt: new Date() };
    this.db.insert(
      "INSERT INTO cameras (id, fleet_id, vehicle_id, name, created_at) VALUES (?, ?, ?, ?, ?)",
      `A camera named "${input.name}" already exists on this vehicle`,
      camera.id,
      camera.fleetId,
      camera.vehicleId,
      camera.name,
      camera.createdAt.getTime(),
    );
    return Promise.resolve(camera);
  }

  get(fleetId: string, id: string): Promise<Camera | undefined> {
    const row = this.db.get("SELECT * FROM cameras WHERE fleet_id = ? AND id = ?", fleetId, id);
    return Promise.resolve(row && cameraOf(row));
  }

  list(fleetId: string, vehicleId: string): Promise<Camera[]> {
    return Promise.resolve(
      this.db.all(
        "SELECT * FROM cameras WHERE fleet_id = ? AND vehicle_id = ? ORDER BY name",
        fleetId,
        vehicleId,
      ).map(cameraOf),
    );
  }

  async setLabel(fleetId: string, id: string, label: string | null): Promise<Camera | undefined> {
    this.db.run("UPDATE cameras SET label = ? WHERE fleet_id = ? AND id = ?", label, fleetId, id);
    return await this.get(fleetId, id);
  }

  delete(fleetId: string, id: string): Promise<boolean> {
    return Promise.resolve(
      this.db.run("DELETE FROM cameras WHERE fleet_id = ? AND id = ?", fleetId, id) > 0,
    );
  }
}
