/**
 * The contracts hardhat-bluegreen ships compiled (the switch, OpenZeppelin's
 * proxy, the demo's examples), read from a Hardhat artifacts folder: the
 * package's `artifacts-dist/`, or this repository's own `artifacts/` when run
 * from source. `hre.artifacts` only knows the user's contracts.
 */
import { existsSync, readFileSync } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";

import { BlueGreenError } from "./errors.js";
import type { ArtifactSource } from "./stage/contract-build.js";

type Artifact = Awaited<ReturnType<ArtifactSource["readArtifact"]>>;

/** The nearest folder above `from` whose package.json is hardhat-bluegreen's. */
export function packageRoot(from: string = import.meta.dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, "package.json");
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, "utf8")).name === "hardhat-bluegreen") return dir;
    if (path.dirname(dir) === dir) throw new Error(`hardhat-bluegreen: no package.json of hardhat-bluegreen above ${from}`);
  }
}

/** An ArtifactSource over one Hardhat artifacts folder. */
export class ArtifactsFolder implements ArtifactSource {
  #index: Promise<Map<string, string[]>> | undefined;

  constructor(public readonly dir: string) {}

  async readArtifact(name: string): Promise<Artifact> {
    const index = await (this.#index ??= this.#buildIndex());
    const files = index.get(name) ?? [];
    if (files.length === 0) {
      throw new BlueGreenError("BG_PACKAGE_ARTIFACT_MISSING", `hardhat-bluegreen ships no contract "${name}" (looked in ${this.dir}). Reinstall the package.`);
    }
    if (files.length > 1) {
      throw new BlueGreenError("BG_PACKAGE_ARTIFACT_AMBIGUOUS", `"${name}" is ambiguous in ${this.dir}; use its fully qualified name.`);
    }
    return JSON.parse(await readFile(files[0]!, "utf8"));
  }

  async getBuildInfoPath(id: string): Promise<string | undefined> {
    const file = path.join(this.dir, "build-info", `${id}.json`);
    return existsSync(file) ? file : undefined;
  }

  async getBuildInfoOutputPath(id: string): Promise<string | undefined> {
    const file = path.join(this.dir, "build-info", `${id}.output.json`);
    return existsSync(file) ? file : undefined;
  }

  /** Maps both `Name` and `source.sol:Name` to artifact files. */
  async #buildIndex(): Promise<Map<string, string[]>> {
    const index = new Map<string, string[]>();
    const add = (key: string, file: string) => index.set(key, [...(index.get(key) ?? []), file]);
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) {
          if (entry.name !== "build-info") await walk(full);
        } else if (entry.name.endsWith(".json") && path.basename(dir).endsWith(".sol")) {
          const contractName = entry.name.slice(0, -".json".length);
          add(contractName, full);
          add(`${path.relative(this.dir, dir)}:${contractName}`, full);
        }
      }
    };
    await walk(this.dir);
    return index;
  }
}

let shipped: ArtifactsFolder | undefined;

/** The package's shipped artifacts (or, in this repository, its build output). */
export function shippedArtifacts(): ArtifactsFolder {
  if (shipped === undefined) {
    const root = packageRoot();
    // Built JS (dist/) reads what the package ships; the TypeScript sources
    // (this repository, tests) read the fresh build output instead.
    const fromDist = path.relative(root, import.meta.dirname).split(path.sep)[0] === "dist";
    shipped = new ArtifactsFolder(path.join(root, fromDist ? "artifacts-dist" : "artifacts"));
  }
  return shipped;
}
