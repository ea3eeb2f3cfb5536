/**
 * The architecture as a test: no import cycles, and layers that depend one
 * way, so `src/`'s folder names are a true map of the package.
 */
import path from "node:path";

import { expect } from "chai";
import madge from "madge";

const ROOT = path.resolve(import.meta.dirname, "../..");

/**
 * Lowest first. A module may import its own layer and the layers before it,
 * never one after it. Folders in one layer may not import each other unless
 * they are listed together in the same string (e.g. "stage switch").
 */
const LAYERS = [
  "errors common closest-key",
  "chain",
  // The record, the store and the lifecycle: nothing above them.
  "release",
  "stage",
  "packaged-artifacts",
  "switch",
  "replay",
  // A wave's bake is judged by the monitor's analysis, and the monitor follows a release wave by wave.
  "waves monitor",
  "gates",
  "approval",
  // Status and reconciliation across gates, switch and waves.
  "status",
  "ui",
  "demo",
  "commands tasks config hooks type-extensions index core",
];

function unitOf(file: string): string {
  const parts = file.replace(/\.(ts|js)$/, "").split("/");
  // src/x/... → x; src/x.ts → x; tasks/... → tasks
  return parts[0] === "src" ? parts[1]! : parts[0]!;
}

function layerOf(unit: string): number {
  const i = LAYERS.findIndex((l) => l.split(" ").includes(unit));
  if (i < 0) throw new Error(`${unit} is in no layer of test/architecture/import-graph.test.ts: add it where it belongs`);
  return i;
}

describe("the import graph of src/ and tasks/", function () {
  this.timeout(120_000);
  let graph: Record<string, string[]>;
  let circular: string[][];

  before(async () => {
    const result = await madge([path.join(ROOT, "src"), path.join(ROOT, "tasks")], {
      baseDir: ROOT,
      fileExtensions: ["ts"],
      tsConfig: path.join(ROOT, "tsconfig.json"),
      detectiveOptions: { ts: { skipTypeImports: false } },
    });
    graph = result.obj();
    circular = result.circular();
  });

  it("reads the whole tree", () => {
    expect(Object.keys(graph).length).to.be.greaterThan(100);
    expect(graph).to.have.property("src/core.ts");
  });

  it("has no import cycles", () => {
    expect(circular.map((c) => c.join(" → "))).to.deep.equal([]);
  });

  it("depends one way: no module imports a layer above its own", () => {
    const upward: string[] = [];
    for (const [from, deps] of Object.entries(graph)) {
      const fromUnit = unitOf(from);
      for (const to of deps) {
        const toUnit = unitOf(to);
        if (toUnit === fromUnit) continue;
        const a = layerOf(fromUnit);
        const b = layerOf(toUnit);
        const sameLayerOtherFolder = a === b && !LAYERS[a]!.includes(" ");
        if (b > a || sameLayerOtherFolder) upward.push(`${from} → ${to}`);
      }
    }
    expect(upward).to.deep.equal([]);
  });

  it("keeps the monitor out of approval, and release/ at the bottom", () => {
    const bad = Object.entries(graph).flatMap(([from, deps]) =>
      deps
        .filter(
          (to) =>
            (from.startsWith("src/monitor/") && to.startsWith("src/approval/")) ||
            (from.startsWith("src/release/") && !/^src\/(release|common|chain)\/|^src\/errors\.ts$/.test(to)),
        )
        .map((to) => `${from} → ${to}`),
    );
    expect(bad).to.deep.equal([]);
  });
});
