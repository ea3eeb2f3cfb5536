import path from "node:path";

import { expect } from "chai";

import type { CoverageGateConfig } from "../../src/gates/config.js";
import { evaluateCoverageGate, parseLcov } from "../../src/gates/coverage-gate.js";
import { sha256Hex } from "../../src/gates/evidence-hash.js";
import { tempProject, type TempProject } from "./fixtures.js";

/**
 * An lcov file laid out exactly as Hardhat 3's `hardhat test --coverage`
 * writes it: one TN: line, then per file SF, DA lines, LH, LF, end_of_record.
 */
function lcov(files: Array<{ name: string; found: number; hit: number }>): string {
  let text = "TN:\n";
  for (const f of files) {
    text += `SF:contracts/${f.name}\n`;
    for (let i = 0; i < f.found; i++) text += `DA:${i + 1},${i < f.hit ? 2 : 0}\n`;
    text += `LH:${f.hit}\nLF:${f.found}\nend_of_record\n`;
  }
  return text;
}

describe("the coverage gate", () => {
  let project: TempProject;
  let config: CoverageGateConfig;

  beforeEach(async () => {
    project = await tempProject();
    config = { lcov: path.join(project.root, "coverage/lcov.info"), min: 80, required: true };
  });

  it("sums LF and LH over every file and passes at the minimum", async () => {
    const text = lcov([
      { name: "Vault.sol", found: 60, hit: 50 },
      { name: "Token.sol", found: 40, hit: 30 },
    ]);
    await project.write("coverage/lcov.info", text);
    const result = await evaluateCoverageGate(config, project.root);
    expect(result).to.deep.include({ status: "pass", ok: true });
    expect(result.evidence).to.deep.include({ linesFound: 100, linesHit: 80, percent: 80, files: 2, lcov: "coverage/lcov.info" });
    expect(result.files).to.deep.equal([{ path: "coverage/lcov.info", sha256: sha256Hex(text) }]);
  });

  it("fails below the minimum, with the numbers", async () => {
    await project.write("coverage/lcov.info", lcov([{ name: "Vault.sol", found: 300, hit: 239 }]));
    const result = await evaluateCoverageGate(config, project.root);
    expect(result.status).to.equal("fail");
    expect(result.detail).to.equal("79.66% of 300 lines in 1 file(s) (min 80%) from coverage/lcov.info");
    expect(result.fix).to.include("line coverage reaches 80%");
  });

  it("fails on a missing file, naming it and how to produce it", async () => {
    const result = await evaluateCoverageGate(config, project.root);
    expect(result.status).to.equal("fail");
    expect(result.detail).to.equal("coverage/lcov.info does not exist");
    expect(result.fix).to.include("npx hardhat test --coverage");
  });

  it("fails on a malformed file, naming the file and line", async () => {
    const text = lcov([{ name: "Vault.sol", found: 3, hit: 3 }]).replace("LH:3", "LH:three");
    await project.write("coverage/lcov.info", text);
    const line = text.split("\n").findIndex((l) => l === "LH:three") + 1;
    const result = await evaluateCoverageGate(config, project.root);
    expect(result.status).to.equal("fail");
    expect(result.detail).to.equal(`coverage/lcov.info:${line} is malformed: LH: must be a whole number, got "three"`);
    expect(line).to.be.greaterThan(1);
  });

  it("fails on a truncated file and on one that is not lcov at all", async () => {
    const text = lcov([{ name: "Vault.sol", found: 3, hit: 3 }]);
    await project.write("coverage/lcov.info", text.slice(0, text.lastIndexOf("end_of_record")));
    expect((await evaluateCoverageGate(config, project.root)).detail).to.equal(
      "coverage/lcov.info:2 is malformed: this record has no end_of_record (the file is cut short)",
    );
    await project.write("coverage/lcov.info", "<html>coverage report</html>\n");
    expect((await evaluateCoverageGate(config, project.root)).detail).to.equal(
      'coverage/lcov.info:1 is malformed: "<html>coverage report</html>" is not an lcov line (KEY:value or end_of_record)',
    );
    await project.write("coverage/lcov.info", "");
    expect((await evaluateCoverageGate(config, project.root)).detail).to.equal(
      "coverage/lcov.info:1 is malformed: no SF: records: this file covers no source file",
    );
  });

  it("counts DA lines when a record has no LF/LH summary", () => {
    const summary = parseLcov(["SF:a.sol", "DA:1,1", "DA:2,0", "DA:3,5", "DA:3,0", "end_of_record", ""].join("\n"));
    expect(summary).to.deep.equal({ files: 1, linesFound: 3, linesHit: 2, percent: (2 / 3) * 100 });
    expect(() => parseLcov("SF:a.sol\nLF:1\nLH:2\nend_of_record\n")).to.throw("line 4: the record that starts on line 1 has LH 2 greater than LF 1");
  });
});
