/** The `blueGreen.approval` config section: checked when the config loads, resolved with nothing assumed. */
import { expect } from "chai";

import { resolveApprovalConfig } from "../../src/approval/config.js";
import { blueGreenUserConfigSchema } from "../../src/config.js";

describe("blueGreen.approval config", () => {
  it("accepts a service URL, its API key and a timelock proposer", () => {
    const parsed = blueGreenUserConfigSchema.safeParse({
      approval: {
        safeService: "https://safe-transaction-mainnet.safe.global/api",
        safeServiceApiKey: "key",
        timelockProposer: "0x00000000000000000000000000000000000000aa",
      },
    });
    expect(parsed.success).to.equal(true);
  });

  it("refuses a service that is not a URL, a proposer that is not an address, and unknown keys", () => {
    for (const approval of [{ safeService: "not a url" }, { timelockProposer: "0x1234" }, { safeservice: "https://x" }]) {
      const parsed = blueGreenUserConfigSchema.safeParse({ approval });
      expect(parsed.success, JSON.stringify(approval)).to.equal(false);
    }
  });

  it("resolves to nothing configured when the section is absent", () => {
    expect(resolveApprovalConfig(undefined)).to.deep.equal({ safeService: undefined, safeServiceApiKey: undefined, timelockProposer: undefined });
  });
});
