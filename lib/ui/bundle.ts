import * as esbuild from "esbuild";
import { type StaticAsset, staticAsset } from "./asset.ts";
import { ISLAND_NAME } from "./marker.ts";

/** Options of {@linkcode IslandBundle}. */
export interface IslandBundleOptions {
  /** Folder of the islands: every `PascalCase.tsx` directly in it is one. */
  islandsDir?: string;
  /** Project root: where `node_modules/` (Deno's `nodeModulesDir`) holds `preact`. */
  root?: string;
}

const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);
const HYDRATE = decodeURIComponent(new URL("./hydrate.ts", import.meta.url).pathname);

/**
 * The browser's JavaScript: every island with the hydration runtime and Preact, bundled and
 * minified by esbuild into one ES module. Built once, on first use, then served from memory.
 */
export class IslandBundle {
  readonly #islandsDir: string;
  readonly #root: string;
  #built?: Promise<StaticAsset>;

  constructor(options: IslandBundleOptions = {}) {
    this.#root = options.root ?? ROOT;
    this.#islandsDir = options.islandsDir ?? `${this.#root}islands/`;
  }

  /** The bundle, built on the first call; a failed build is retried by the next call. */
  asset(): Promise<StaticAsset> {
    this.#built ??= this.#build().catch((error) => {
      this.#built = undefined;
      throw error;
    });
    return this.#built;
  }

  /** Names of the islands the bundle holds: their file names without `.tsx`. */
  async islandNames(): Promise<string[]> {
    const names: string[] = [];
    for await (const entry of Deno.readDir(this.#islandsDir)) {
      const name = entry.name.replace(/\.tsx$/, "");
      if (entry.isFile && entry.name.endsWith(".tsx") && ISLAND_NAME.test(name)) names.push(name);
    }
    return names.sort();
  }

  async #build(): Promise<StaticAsset> {
    const names = await this.islandNames();
    const dir = this.#islandsDir.replace(/\/?$/, "/");
    const entry = [
      `import { hydrateIslands } from ${JSON.stringify(HYDRATE)};`,
      ...names.map((name, i) => `import I${i} from ${JSON.stringify(`${dir}${name}.tsx`)};`),
      `hydrateIslands({ ${names.map((name, i) => `${name}: I${i}`).join(", ")} });`,
    ].join("\n");
    const result = await esbuild.build({
      stdin: { contents: entry, resolveDir: this.#root, sourcefile: "islands.js", loader: "js" },
      absWorkingDir: this.#root,
      nodePaths: [`${this.#root}node_modules`],
      bundle: true,
      minify: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      jsx: "automatic",
      jsxImportSource: "preact",
      legalComments: "none",
      write: false,
      logLevel: "silent",
    }).catch((error: unknown) => {
      throw new Error(`Cannot bundle the islands: ${describe(error)}`, { cause: error });
    });
    const file = result.outputFiles?.[0];
    if (!file) throw new Error("Cannot bundle the islands: esbuild wrote no output");
    return await staticAsset(
      file.contents as Uint8Array<ArrayBuffer>,
      "text/javascript; charset=utf-8",
    );
  }
}

function describe(error: unknown): string {
  const failure = error as Partial<esbuild.BuildFailure>;
  if (!failure.errors?.length) return error instanceof Error ? error.message : String(error);
  return failure.errors.map((m) => {
    const where = m.location ? `${m.location.file}:${m.location.line}: ` : "";
    return where + m.text;
  }).join("; ");
}
