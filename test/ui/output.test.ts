/** The output conventions every bg:* task runs under, for a failing action. */
import { expect } from "chai";

import { BlueGreenError } from "../../src/errors.js";
import { runCommand } from "../../src/ui/output.js";

async function capture(fn: () => Promise<unknown>): Promise<{ stdout: string; stderr: string; exitCode: typeof process.exitCode; thrown?: unknown }> {
  const out: string[] = [];
  const err: string[] = [];
  const { write: o } = process.stdout;
  const { write: e } = process.stderr;
  const saved = process.exitCode;
  process.exitCode = undefined;
  process.stdout.write = ((s: string) => (out.push(String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
  let thrown: unknown;
  try {
    await fn();
  } catch (error) {
    thrown = error;
  } finally {
    process.stdout.write = o;
    process.stderr.write = e;
  }
  const exitCode = process.exitCode;
  process.exitCode = saved;
  return { stdout: out.join(""), stderr: err.join(""), exitCode, thrown };
}

const failing = () => {
  throw new BlueGreenError("BG_TEST_SITUATION", "the thing is wrong.", { hint: "Do this to fix it." });
};

describe("runCommand with a failing action", () => {
  it("--json: one document with the code, the hint and the docs link, exit code 1", async () => {
    const r = await capture(() => runCommand(true, async () => failing(), () => ""));
    const doc = JSON.parse(r.stdout);
    expect(doc).to.deep.equal({
      ok: false,
      error: "[BG_TEST_SITUATION] the thing is wrong. Do this to fix it.",
      code: "BG_TEST_SITUATION",
      hint: "Do this to fix it.",
      docs: "hardhat-bluegreen/docs/errors.md#bg_test_situation",
    });
    expect(r.exitCode).to.equal(1);
  });

  it("--json: an unexpected error is marked so, without a code", async () => {
    const r = await capture(() =>
      runCommand(true, async () => {
        throw new TypeError("boom");
      }, () => ""),
    );
    expect(JSON.parse(r.stdout)).to.deep.equal({ ok: false, error: "boom", unexpected: true });
    expect(r.exitCode).to.equal(1);
  });

  it("for people: the coded message and where it is explained, no stack trace, also with CI=true", async () => {
    const ci = process.env.CI;
    process.env.CI = "true";
    try {
      const r = await capture(() => runCommand(false, async () => failing(), () => ""));
      expect(r.thrown).to.equal(undefined);
      expect(r.exitCode).to.equal(1);
      expect(r.stderr).to.include("[BG_TEST_SITUATION] the thing is wrong. Do this to fix it.");
      expect(r.stderr).to.include("hardhat-bluegreen/docs/errors.md#bg_test_situation");
      expect(r.stderr).to.not.match(/\n\s+at /);
      expect(r.stdout).to.equal("");
    } finally {
      if (ci === undefined) delete process.env.CI;
      else process.env.CI = ci;
    }
  });

  it("for people: an unexpected error goes to Hardhat's printer (with its stack)", async () => {
    const r = await capture(() =>
      runCommand(false, async () => {
        throw new TypeError("boom");
      }, () => ""),
    );
    expect(r.thrown).to.be.instanceOf(TypeError);
  });

  it("refuses a code that is not BG_ and upper-case words", () => {
    expect(() => new BlueGreenError("bg_lower" as `BG_${string}`, "x")).to.throw(TypeError, /not an error code/);
  });
});
