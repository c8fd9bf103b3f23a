import assert from "node:assert/strict";
import { CONFIG_VARIABLES } from "../../lib/config/mod.ts";

Deno.test("README's configuration table lists every variable the server reads", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  for (const variable of CONFIG_VARIABLES) {
    assert.match(readme, new RegExp(`^\\| \`${variable.name}\`\\s+\\|`, "m"), variable.name);
  }
});

Deno.test("README opens with the two commands a newcomer runs", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const tasks = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)))
    .tasks;
  const opening = readme.slice(0, readme.indexOf("\n## "));
  for (const task of ["demo", "test"]) {
    assert.match(opening, new RegExp(`npx -y deno@2\\.9 task ${task}`), task);
    assert.ok(tasks[task], `deno.json has a "${task}" task`);
  }
});
