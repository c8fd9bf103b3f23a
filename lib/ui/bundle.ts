import * as esbuild from "esbuild";
import { type CompressedAsset, compressedAsset } from "./asset.ts";
import { ISLAND_NAME } from "./marker.ts";

/** Options of {@linkcode IslandBundle}. */
export interface IslandBundleOptions {
  /** Folder of the islands: every `PascalCase.tsx` directly in it is one. */
  islandsDir?: string;
  /** Project root: where `node_modules/` (Deno's `nodeModulesDir`) holds `preact`. */
  root?: string;
  /** URL path the files are served under, ending in `/`. */
  publicPath?: string;
}

/** What a page loads for a set of islands: their entry modules and the chunks to preload. */
export interface IslandScripts {
  /** URLs of the islands' entry modules (`<script type="module">`). */
  modules: string[];
  /** URLs of every module those entries import statically (`<link rel="modulepreload">`). */
  preloads: string[];
}

/** One island's first-load JavaScript: its entry and the chunks it imports statically. */
export interface IslandSize {
  island: string;
  files: string[];
  bytes: number;
  gzipBytes: number;
}

/** The files of one build: assets by file name, each island's entry and static imports. */
interface Build {
  files: Map<string, CompressedAsset>;
  entries: Map<string, string>;
  imports: Map<string, string[]>;
}

const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);
const HYDRATE = decodeURIComponent(new URL("./hydrate.ts", import.meta.url).pathname);
const ENTRY = "island-entry";
/** Where the built files are served. */
export const UI_ASSETS_PATH = "/static/ui/";

/**
 * The browser's JavaScript: one esbuild entry per island (it hydrates that island's markers),
 * code-split so Preact and shared code sit in chunks every island shares; file names carry a
 * content hash, so they are served as immutable. Built by {@linkcode IslandBundle.build} (at
 * server start), kept in memory with gzip and brotli copies.
 */
export class IslandBundle {
  readonly #islandsDir: string;
  readonly #root: string;
  readonly publicPath: string;
  #built?: Promise<Build>;

  constructor(options: IslandBundleOptions = {}) {
    this.#root = options.root ?? ROOT;
    this.#islandsDir = (options.islandsDir ?? `${this.#root}islands/`).replace(/\/?$/, "/");
    this.publicPath = options.publicPath ?? UI_ASSETS_PATH;
  }

  /**
   * Builds the bundle (again: a rebuild replaces the files once it succeeds; pages rendered
   * meanwhile keep the previous build). Throws when esbuild fails, naming file and line.
   */
  build(): Promise<void> {
    const next = this.#build();
    const previous = this.#built;
    this.#built = previous ? next.catch(() => previous) : next;
    return next.then(() => {});
  }

  /** The current build, built now when {@linkcode IslandBundle.build} was never called. */
  #current(): Promise<Build> {
    this.#built ??= this.#build();
    return this.#built;
  }

  /** A built file by its name (as in its URL after {@linkcode publicPath}), if it exists. */
  async file(name: string): Promise<CompressedAsset | undefined> {
    return (await this.#current()).files.get(name);
  }

  /** The scripts a page holding `islands` loads; throws for an island the bundle lacks. */
  async scripts(islands: Iterable<string>): Promise<IslandScripts> {
    const build = await this.#current();
    const modules: string[] = [];
    const preloads = new Set<string>();
    for (const island of islands) {
      const entry = build.entries.get(island);
      if (!entry) {
        throw new TypeError(
          `Cannot load island "${island}": islands/${island}.tsx is not in the bundle`,
        );
      }
      modules.push(this.publicPath + entry);
      for (const file of closure(build, entry)) {
        if (file !== entry) preloads.add(this.publicPath + file);
      }
    }
    return { modules, preloads: [...preloads].filter((url) => !modules.includes(url)) };
  }

  /** Each island's first-load JavaScript, raw and gzipped (a page loads the union of its own). */
  async sizes(): Promise<IslandSize[]> {
    const build = await this.#current();
    return [...build.entries].map(([island, entry]) => {
      const files = closure(build, entry);
      const assets = files.map((file) => build.files.get(file)!);
      return {
        island,
        files,
        bytes: assets.reduce((sum, a) => sum + a.body.byteLength, 0),
        gzipBytes: assets.reduce((sum, a) => sum + (a.gzip ?? a.body).byteLength, 0),
      };
    });
  }

  /** Names of the islands: the file names in the islands folder, without `.tsx`. */
  async islandNames(): Promise<string[]> {
    const names: string[] = [];
    for await (const entry of Deno.readDir(this.#islandsDir)) {
      const name = entry.name.replace(/\.tsx$/, "");
      if (entry.isFile && entry.name.endsWith(".tsx") && ISLAND_NAME.test(name)) names.push(name);
    }
    return names.sort();
  }

  async #build(): Promise<Build> {
    const names = await this.islandNames();
    const dir = this.#islandsDir;
    const entries: esbuild.Plugin = {
      name: "island-entries",
      setup(build) {
        build.onResolve({ filter: new RegExp(`^${ENTRY}:`) }, (args) => ({
          path: args.path.slice(ENTRY.length + 1),
          namespace: ENTRY,
        }));
        build.onLoad({ filter: /.*/, namespace: ENTRY }, (args) => ({
          contents: [
            `import { hydrateIsland } from ${JSON.stringify(HYDRATE)};`,
            `import Island from ${JSON.stringify(`${dir}${args.path}.tsx`)};`,
            `hydrateIsland(${JSON.stringify(args.path)}, Island);`,
          ].join("\n"),
          resolveDir: dir,
          loader: "js",
        }));
      },
    };
    const outdir = `${this.#root}.ui-build`;
    const result = await esbuild.build({
      entryPoints: names.map((name) => ({ in: `${ENTRY}:${name}`, out: name })),
      plugins: [entries],
      absWorkingDir: this.#root,
      nodePaths: [`${this.#root}node_modules`],
      outdir,
      entryNames: "[name]-[hash]",
      chunkNames: "chunk-[hash]",
      bundle: true,
      splitting: true,
      minify: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      jsx: "automatic",
      jsxImportSource: "preact",
      legalComments: "none",
      metafile: true,
      write: false,
      logLevel: "silent",
    }).catch((error: unknown) => {
      throw new Error(`Cannot bundle the islands: ${describe(error)}`, { cause: error });
    });
    const files = new Map<string, CompressedAsset>();
    for (const file of result.outputFiles ?? []) {
      const name = file.path.slice(outdir.length + 1);
      files.set(
        name,
        await compressedAsset(
          file.contents as Uint8Array<ArrayBuffer>,
          "text/javascript; charset=utf-8",
        ),
      );
    }
    const built: Build = { files, entries: new Map(), imports: new Map() };
    const prefix = `${outdir.slice(this.#root.length)}/`;
    for (const [path, output] of Object.entries(result.metafile!.outputs)) {
      if (!path.endsWith(".js")) continue;
      const name = path.slice(prefix.length);
      built.imports.set(
        name,
        output.imports.filter((i) => i.kind === "import-statement" && !i.external)
          .map((i) => i.path.slice(prefix.length)),
      );
      if (output.entryPoint?.startsWith(`${ENTRY}:`)) {
        built.entries.set(output.entryPoint.slice(ENTRY.length + 1), name);
      }
    }
    for (const name of names) {
      if (!built.entries.has(name)) {
        throw new Error(`Cannot bundle the islands: esbuild wrote no entry for "${name}"`);
      }
    }
    return built;
  }
}

/** `entry` and every file it imports statically, transitively, in load order. */
function closure(build: Build, entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const imported of build.imports.get(file) ?? []) visit(imported);
  };
  visit(entry);
  return [...seen];
}

function describe(error: unknown): string {
  const failure = error as Partial<esbuild.BuildFailure>;
  if (!failure.errors?.length) return error instanceof Error ? error.message : String(error);
  return failure.errors.map((m) => {
    const where = m.location ? `${m.location.file}:${m.location.line}: ` : "";
    return where + m.text;
  }).join("; ");
}
