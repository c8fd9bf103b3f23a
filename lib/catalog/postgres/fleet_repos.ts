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
  id: row.id,
  name: row.name,
  createdAt: toDate(row.created_at)!,
  retentionDays: row.retention_days ?? null,
  timeZone: row.time_zone ?? null,
  segmentSeconds: row.segment_seconds ?? null,
  liveLadder: row.live_ladder ?? null,
});

const userOf = (row: Row): User => ({
  id: row.id,
  email: row.email,
  role: row.role as Role,
  fleetId: row.fleet_id ?? null,
  passwordHash: row.password_hash,
  disabled: row.disabled === true,
  createdAt: toDate(row.created_at)!,
});

const vehicleOf = (row: Row): Vehicle => ({
  id: row.id,
  fleetId: row.fleet_id,
  name: row.name,
  createdAt: toDate(row.created_at)!,
});

const cameraOf = (row: Row): Camera => ({
  id: row.id,
  fleetId: row.fleet_id,
  vehicleId: row.vehicle_id,
  name: row.name,
  label: row.label ?? null,
  createdAt: toDate(row.created_at)!,
});

/** Fleets in PostgreSQL. */
export class PostgresFleets implements FleetRepository {
  constructor(private readonly db: Database) {}

  async create({ name }: { name: string }): Promise<Fleet> {
    const fleet: Fleet = {
      id: newId("flt"),
      name,
      createdAt: new Date(),
      retentionDays: null,
      timeZone: null,
      segmentSeconds: null,
      liveLadder: null,
    };
    await this.db.query(
      (sql) =>
        sql`INSERT INTO fleets (id, name, created_at)
          VALUES (${fleet.id}, ${name}, ${fleet.createdAt.getTime()})`,
      `A fleet named "${name}" already exists`,
    );
    return fleet;
  }

  async get(id: string): Promise<Fleet | undefined> {
    const [row] = await this.db.query((sql) => sql`SELECT * FROM fleets WHERE id = ${id}`);
    return row && fleetOf(row);
  }

  async list(): Promise<Fleet[]> {
    return (await this.db.query((sql) => sql`SELECT * FROM fleets ORDER BY name`)).map(fleetOf);
  }

  async rename(id: string, name: string): Promise<Fleet | undefined> {
    const [row] = await this.db.query(
      (sql) => sql`UPDATE fleets SET name = ${name} WHERE id = ${id} RETURNING *`,
      `A fleet named "${name}" already exists`,
    );
    return row && fleetOf(row);
  }

  async setRetention(id: string, days: number | null): Promise<Fleet | undefined> {
    const [row] = await this.db.query((sql) =>
      sql`UPDATE fleets SET retention_days = ${days} WHERE id = ${id} RETURNING *`
    );
    return row && fleetOf(row);
  }

  async setSettings(id: string, settings: FleetSettings): Promise<Fleet | undefined> {
    const [row] = await this.db.query((sql) =>
      sql`UPDATE fleets SET
        time_zone = CASE WHEN ${settings.timeZone !== undefined} THEN ${
        settings.timeZone ?? null
      }::text ELSE time_zone END,
        segment_seconds = CASE WHEN ${settings.segmentSeconds !== undefined} THEN ${
        settings.segmentSeconds ?? null
      }::double precision ELSE segment_seconds END,
        live_ladder = CASE WHEN ${settings.liveLadder !== undefined} THEN ${
        settings.liveLadder ?? null
      }::text ELSE live_ladder END
        WHERE id = ${id} RETURNING *`
    );
    return row && fleetOf(row);
  }

  async delete(id: string): Promise<boolean> {
    try {
      return await this.db.transaction(async (sql) => {
        const [used] = await sql`SELECT
          (SELECT count(*) FROM users WHERE fleet_id = ${id}) AS users,
          (SELECT count(*) FROM vehicles WHERE fleet_id = ${id}) AS vehicles`;
        if (Number(used.users) || Number(used.vehicles)) {
          throw new ConflictError(
            `Cannot delete fleet "${id}": it still has ${used.users} users and ${used.vehicles} vehicles`,
          );
        }
        return (await sql`DELETE FROM fleets WHERE id = ${id}`).count > 0;
      });
    } catch (error) {
      // A user or vehicle added meanwhile: its foreign key refuses the delete.
      if ((error as { code?: unknown }).code !== "23503") throw error;
      throw new ConflictError(`Cannot delete fleet "${id}": it still has users or vehicles`);
    }
  }
}

/** Users in PostgreSQL. */
export class PostgresUsers implements UserRepository {
  constructor(private readonly db: Database) {}

  async create(input: Omit<User, "id" | "createdAt" | "disabled">): Promise<User> {
    const user: User = { ...input, id: newId("usr"), disabled: false, createdAt: new Date() };
    await this.db.query(
      (sql) =>
        sql`INSERT INTO users (id, email, role, fleet_id, password_hash, disabled, created_at)
          VALUES (${user.id}, ${user.email}, ${user.role}, ${user.fleetId}, ${user.passwordHash},
            false, ${user.createdAt.getTime()})`,
      `A user with email "${input.email}" already exists`,
    );
    return user;
  }

  async get(id: string): Promise<User | undefined> {
    const [row] = await this.db.query((sql) => sql`SELECT * FROM users WHERE id = ${id}`);
    return row && userOf(row);
  }

  async getByEmail(email: string): Promise<User | undefined> {
    const [row] = await this.db.query((sql) => sql`SELECT * FROM users WHERE email = ${email}`);
    return row && userOf(row);
  }

  async list(fleetId?: string): Promise<User[]> {
    const rows = await this.db.query((sql) =>
      fleetId === undefined
        ? sql`SELECT * FROM users ORDER BY email`
        : sql`SELECT * FROM users WHERE fleet_id = ${fleetId} ORDER BY email`
    );
    return rows.map(userOf);
  }

  async update(
    id: string,
    changes: Partial<Pick<User, "role" | "passwordHash" | "disabled">>,
  ): Promise<User | undefined> {
    const [row] = await this.db.query((sql) =>
      sql`UPDATE users SET
        role = coalesce(${changes.role ?? null}::text, role),
        password_hash = coalesce(${changes.passwordHash ?? null}::text, password_hash),
        disabled = coalesce(${changes.disabled ?? null}::boolean, disabled)
      WHERE id = ${id} RETURNING *`
    );
    return row && userOf(row);
  }

  async delete(id: string): Promise<boolean> {
    return (await this.db.query((sql) => sql`DELETE FROM users WHERE id = ${id}`)).count > 0;
  }

  async count(): Promise<number> {
    const [row] = await this.db.query((sql) => sql`SELECT count(*) AS n FROM users`);
    return Number(row.n);
  }
}

/** Vehicles in PostgreSQL. */
export class PostgresVehicles implements VehicleRepository {
  constructor(private readonly db: Database) {}

  async create({ fleetId, name }: { fleetId: string; name: string }): Promise<Vehicle> {
    const vehicle: Vehicle = { id: newId("veh"), fleetId, name, createdAt: new Date() };
    await this.db.query(
      (sql) =>
        sql`INSERT INTO vehicles (id, fleet_id, name, created_at)
          VALUES (${vehicle.id}, ${fleetId}, ${name}, ${vehicle.createdAt.getTime()})`,
      `A vehicle named "${name}" already exists in this fleet`,
    );
    return vehicle;
  }

  async get(fleetId: string, id: string): Promise<Vehicle | undefined> {
    const [row] = await this.db.query((sql) =>
      sql`SELECT * FROM vehicles WHERE fleet_id = ${fleetId} AND id = ${id}`
    );
    return row && vehicleOf(row);
  }

  async list(fleetId: string): Promise<Vehicle[]> {
    return (await this.db.query((sql) =>
      sql`SELECT * FROM vehicles WHERE fleet_id = ${fleetId} ORDER BY name`
    )).map(vehicleOf);
  }

  async rename(fleetId: string, id: string, name: string): Promise<Vehicle | undefined> {
    const [row] = await this.db.query(
      (sql) =>
        sql`UPDATE vehicles SET name = ${name} WHERE fleet_id = ${fleetId} AND id = ${id}
          RETURNING *`,
      `A vehicle named "${name}" already exists in this fleet`,
    );
    return row && vehicleOf(row);
  }

  async delete(fleetId: string, id: string): Promise<boolean> {
    return (await this.db.query((sql) =>
      sql`DELETE FROM vehicles WHERE fleet_id = ${fleetId} AND id = ${id}`
    )).count > 0;
  }
}

/** Cameras in PostgreSQL. */
export class PostgresCameras implements CameraRepository {
  constructor(private readonly db: Database) {}

  async create(input: { fleetId: string; vehicleId: string; name: string }): Promise<Camera> {
    const camera: Camera = { ...input, id: newId("cam"), label: null, createdAt: new Date() };
    await this.db.query(
      (sql) =>
        sql`INSERT INTO cameras (id, fleet_id, vehicle_id, name, created_at)
          VALUES (${camera.id}, ${camera.fleetId}, ${camera.vehicleId}, ${camera.name},
            ${camera.createdAt.getTime()})`,
      `A camera named "${input.name}" already exists on this vehicle`,
    );
    return camera;
  }

  async get(fleetId: string, id: string): Promise<Camera | undefined> {
    const [row] = await this.db.query((sql) =>
      sql`SELECT * FROM cameras WHERE fleet_id = ${fleetId} AND id = ${id}`
    );
    return row && cameraOf(row);
  }

  async list(fleetId: string, vehicleId: string): Promise<Camera[]> {
    return (await this.db.query((sql) =>
      sql`SELECT * FROM cameras WHERE fleet_id = ${fleetId} AND vehicle_id = ${vehicleId}
        ORDER BY name`
    )).map(cameraOf);
  }

  async setLabel(fleetId: string, id: string, label: string | null): Promise<Camera | undefined> {
    const [row] = await this.db.query((sql) =>
      sql`UPDATE cameras SET label = ${label} WHERE fleet_id = ${fleetId} AND id = ${id}
        RETURNING *`
    );
    return row && cameraOf(row);
  }

  async delete(fleetId: string, id: string): Promise<boolean> {
    return (await this.db.query((sql) =>
      sql`DELETE FROM cameras WHERE fleet_id = ${fleetId} AND id = ${id}`
    )).count > 0;
  }
}
