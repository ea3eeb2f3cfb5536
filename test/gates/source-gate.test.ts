import { expect } from "chai";

import { compareRuntime, maskImmutables, withoutMetadata } from "../../src/gates/source-gate.js";
import { loadSwitchArtifact } from "../../src/switch/artifact.js";

describe("the source gate's bytecode comparison", () => {
  /** The switch is the project's contract with immutables: the case that needs masking. */
  async function switchCode() {
    const artifact = (await loadSwitchArtifact()) as Awaited<ReturnType<typeof loadSwitchArtifact>> & {
      immutableReferences: Record<string, Array<{ start: number; length: number }>>;
    };
    const ranges = Object.values(artifact.immutableReferences).flat();
    expect(ranges.length).to.be.greaterThan(0);
    return { built: artifact.deployedBytecode, ranges };
  }

  /** What the chain holds after deployment: the immutables filled in. */
  function deployed(built: string, ranges: Array<{ start: number; length: number }>, fill = "ab"): string {
    const hex = built.slice(2).split("");
    for (const { start, length } of ranges) for (let i = start * 2; i < (start + length) * 2; i++) hex[i] = fill[i % 2]!;
    return "0x" + hex.join("");
  }

  it("calls deployed code with its immutables filled in a full match", async () => {
    const { built, ranges } = await switchCode();
    const onChain = deployed(built, ranges);
    expect(onChain).to.not.equal(built);
    expect(compareRuntime(onChain, built, ranges)).to.equal("full");
    expect(maskImmutables(onChain, ranges)).to.equal(maskImmutables(built, ranges));
  });

  it("calls code that differs only in the metadata tail a partial match", async () => {
    const { built, ranges } = await switchCode();
    const tailStart = withoutMetadata(built.slice(2)).length;
    const hex = built.slice(2);
    // Flip one byte inside the CBOR metadata (the source hash), not its length.
    const at = tailStart + 20;
    const other = "0x" + hex.slice(0, at) + (hex.slice(at, at + 2) === "00" ? "11" : "00") + hex.slice(at + 2);
    expect(compareRuntime(deployed(other, ranges), built, ranges)).to.equal("partial");
  });

  it("calls code that differs outside the immutables and the metadata no match", async () => {
    const { built, ranges } = await switchCode();
    const hex = built.slice(2);
    const other = "0x" + (hex.slice(0, 2) === "60" ? "61" : "60") + hex.slice(2);
    expect(compareRuntime(deployed(other, ranges), built, ranges)).to.equal("none");
  });
});
