/** What an operator may set as an upload policy (lib/policy checkPolicyInput). */
import assert from "node:assert/strict";
import { ValidationError } from "../../lib/errors/mod.ts";
import { checkPolicyInput } from "../../lib/policy/mod.ts";

Deno.test("a policy within the limits passes the check", () => {
  checkPolicyInput({ mode: "proxy", proxy: { height: 320, bitrateKbps: 150 } });
  checkPolicyInput({ mode: "on-request", recallMaxSeconds: 600 });
  checkPolicyInput({ mode: "continuous" });
});

Deno.test("a policy out of the limits is refused naming each field", () => {
  assert.throws(
    () =>
      checkPolicyInput({
        mode: "sometimes",
        proxy: { height: 100, bitrateKbps: 150.5 },
        recallMaxSeconds: 5,
      }),
    (error: unknown) => {
      assert.ok(error instanceof ValidationError);
      assert.match(error.message, /^Cannot set upload policy: "mode" must be one of/);
      const issues = error.details?.issues as { path: string; message: string }[];
      assert.deepEqual(issues.map((i) => i.path), [
        "mode",
        "proxy.height",
        "proxy.bitrateKbps",
        "recallMaxSeconds",
      ]);
      assert.equal(issues[1].message, "must be a whole number from 144 to 1080");
      return true;
    },
  );
  assert.throws(
    () => checkPolicyInput({ mode: "proxy", proxy: { height: NaN, bitrateKbps: 150 } }),
    /"proxy.height" must be a whole number/,
  );
});
