/**
 * Prints the slowest test files of a `deno test --junit-path` report, so that a CI log shows
 * where the suite's time goes (the brief keeps a full run under ~45 minutes).
 *
 *   deno run --allow-read scripts/slowest_tests.ts report.xml [count]
 *
 * A file's time is the sum of its top-level tests (their steps are inside them), which leaves out
 * module loading. An unreadable or malformed report is an error naming the file.
 */
import { XMLParser } from "fast-xml-parser";

interface TestCase {
  name: string;
  time: number;
}

/** Seconds per test file, slowest first. */
export function fileTimes(xml: string): { file: string; seconds: number; tests: number }[] {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: "",
    isArray: (name) => name === "testsuite" || name === "testcase",
  });
  const doc = parser.parse(xml);
  const suites = doc?.testsuites?.testsuite;
  if (!Array.isArray(suites)) throw new Error("not a deno test JUnit report (no <testsuite>)");
  const times = suites.map((suite: { name: string; testcase?: Record<string, string>[] }) => {
    const cases: TestCase[] = (suite.testcase ?? []).map((c) => ({
      name: String(c.name),
      time: Number(c.time) || 0,
    }));
    // Deno lists a test's steps as "<test> > <step>" after the test itself: count tests only.
    const tops: TestCase[] = [];
    for (const c of cases) {
      if (!tops.some((t) => c.name.startsWith(`${t.name} > `))) tops.push(c);
    }
    return {
      file: String(suite.name).replace(/^\.\//, ""),
      seconds: tops.reduce((sum, t) => sum + t.time, 0),
      tests: tops.length,
    };
  });
  return times.sort((a, b) => b.seconds - a.seconds);
}

if (import.meta.main) {
  const [path, countArg] = Deno.args;
  if (!path) {
    console.error("usage: slowest_tests.ts <junit.xml> [count]");
    Deno.exit(2);
  }
  const count = countArg === undefined ? 12 : Number(countArg);
  if (!Number.isInteger(count) || count < 1) {
    console.error(`count must be a positive integer, got ${JSON.stringify(countArg)}`);
    Deno.exit(2);
  }
  let times;
  try {
    times = fileTimes(await Deno.readTextFile(path));
  } catch (error) {
    console.error(`${path}: ${error instanceof Error ? error.message : error}`);
    Deno.exit(1);
  }
  const total = times.reduce((sum, t) => sum + t.seconds, 0);
  console.log(`slowest test files (${times.length} files, ${Math.round(total)} s in tests):`);
  for (const t of times.slice(0, count)) {
    console.log(`  ${t.seconds.toFixed(0).padStart(5)} s  ${t.file} (${t.tests} tests)`);
  }
}
