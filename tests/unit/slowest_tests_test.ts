import assert from "node:assert/strict";
import { fileTimes } from "../../scripts/slowest_tests.ts";

/** The shape `deno test --junit-path` writes: steps follow their test as "<test> > <step>". */
const REPORT = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="deno test" tests="5" failures="0" errors="0" time="9.5">
    <testsuite name="./tests/a_test.ts" tests="3" disabled="0" errors="0" failures="0">
        <testcase name="records" classname="./tests/a_test.ts" time="2.000" line="1" col="6">
        </testcase>
        <testcase name="records &gt; step one" classname="./tests/a_test.ts" time="1.500" line="2" col="6">
        </testcase>
        <testcase name="plays" classname="./tests/a_test.ts" time="0.500" line="9" col="6">
        </testcase>
    </testsuite>
    <testsuite name="./tests/b_test.ts" tests="1" disabled="0" errors="0" failures="0">
        <testcase name="waits" classname="./tests/b_test.ts" time="7.000" line="1" col="6">
        </testcase>
    </testsuite>
    <testsuite name="./tests/empty_test.ts" tests="0" disabled="0" errors="0" failures="0">
    </testsuite>
</testsuites>`;

Deno.test("the slowest test files come first, their steps counted inside their tests", () => {
  assert.deepEqual(fileTimes(REPORT), [
    { file: "tests/b_test.ts", seconds: 7, tests: 1 },
    { file: "tests/a_test.ts", seconds: 2.5, tests: 2 },
    { file: "tests/empty_test.ts", seconds: 0, tests: 0 },
  ]);
});

Deno.test("a file that is not a JUnit report is refused, saying so", () => {
  assert.throws(() => fileTimes("# README\n"), /not a deno test JUnit report/);
  assert.throws(() => fileTimes("<testsuites></testsuites>"), /not a deno test JUnit report/);
});
