import assert from "node:assert/strict";
import { LocalAccessChanges, type Principal } from "../../lib/auth/mod.ts";
import { UnauthorizedError, UnavailableError } from "../../lib/errors/mod.ts";
import { silentLogger } from "../../lib/log/mod.ts";
import { type AccessHolder, LiveAccess, LiveLimitError } from "../../lib/live/mod.ts";

const user = (userId: string, sessionId: string): Principal => ({
  kind: "user",
  userId,
  role: "viewer",
  fleetId: "flt_1",
  sessionId,
});
const vehicle = (vehicleId: string, credentialId: string): Principal => ({
  kind: "device",
  vehicleId,
  fleetId: "flt_1",
  credentialId,
});

function holder(principal: Principal, kind: AccessHolder["kind"] = "socket") {
  const ended: string[] = [];
  return { kind, principal: () => principal, end: (why: string) => ended.push(why), ended };
}

/** A guard whose check fails for the grants in `revoked`, and throws `broken` when set. */
function guard() {
  const revoked = new Set<string>();
  const state = { broken: false, checks: 0 };
  return {
    revoked,
    state,
    changes: new LocalAccessChanges(),
    recheck(principal: Principal): Promise<void> {
      state.checks += 1;
      if (state.broken) return Promise.reject(new UnavailableError("catalog down"));
      const grant = principal.kind === "user" ? principal.sessionId : principal.credentialId;
      return revoked.has(grant)
        ? Promise.reject(new UnauthorizedError("Session has been revoked"))
        : Promise.resolve();
    },
  };
}

const settings = {
  maxSocketsPerUser: 2,
  maxSocketsPerVehicle: 1,
  maxWhepPerUser: 1,
  recheckMs: 60_000,
};
const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

Deno.test("live access ends the holders a change names once their check fails, and no others", async () => {
  const g = guard();
  const access = new LiveAccess(g, settings, silentLogger);
  const out = holder(user("usr_1", "ses_1"));
  const whep = holder(user("usr_1", "ses_1"), "whep");
  const other = holder(user("usr_2", "ses_2"));
  const car = holder(vehicle("veh_1", "crd_1"));
  for (const h of [out, whep, other, car]) access.admit(h);

  g.revoked.add("ses_1");
  g.changes.publish({ subject: "session", id: "ses_1" });
  await settle();
  assert.deepEqual([out.ended, whep.ended, other.ended, car.ended], [
    ["revoked"],
    ["revoked"],
    [],
    [],
  ]);
  assert.equal(g.state.checks, 1, "one check per grant");

  g.revoked.add("crd_1");
  g.changes.publish({ subject: "vehicle", id: "veh_1" });
  await settle();
  assert.deepEqual(car.ended, ["revoked"]);
  assert.equal(access.size, 1);
  access.close();
});

Deno.test("live access sweep catches what no change announced, and a catalog outage ends nothing", async () => {
  const g = guard();
  const access = new LiveAccess(g, settings, silentLogger);
  const a = holder(user("usr_1", "ses_1"));
  access.admit(a);
  g.state.broken = true;
  await access.sweep();
  assert.deepEqual(a.ended, []);
  g.state.broken = false;
  g.revoked.add("ses_1");
  await access.sweep();
  assert.deepEqual(a.ended, ["revoked"]);
  access.close();
});

Deno.test("live access refuses a user's socket over the cap and replaces a vehicle's oldest", () => {
  const g = guard();
  const access = new LiveAccess(g, settings, silentLogger);
  const release = access.admit(holder(user("usr_1", "ses_1")));
  access.admit(holder(user("usr_1", "ses_2")));
  assert.throws(() => access.admit(holder(user("usr_1", "ses_3"))), LiveLimitError);
  release();
  access.admit(holder(user("usr_1", "ses_3")));
  access.admit(holder(user("usr_1", "ses_3"), "whep"));
  assert.throws(() => access.admit(holder(user("usr_1", "ses_3"), "whep")), /at most 1/);

  const old = holder(vehicle("veh_1", "crd_1"));
  access.admit(old);
  access.admit(holder(vehicle("veh_1", "crd_1")));
  assert.deepEqual(old.ended, ["replaced"]);
  access.close();
});
