import { expect } from "chai";

import { observe, storageWrites, type CallFrame } from "../../src/replay/observe.js";

const PROXY = "0x" + "aa".repeat(20);
const OTHER = "0x" + "bb".repeat(20);
const word = (n: number) => "0x" + n.toString(16).padStart(64, "0");

describe("reading an execution from its trace", function () {
  it("orders logs as emitted, across frames, and drops the logs of reverted frames", () => {
    const trace: CallFrame = {
      to: OTHER,
      input: "0x12345678",
      output: "0x",
      gasUsed: "0x5208",
      logs: [{ address: OTHER, topics: ["0x03"], data: "0x", position: "0x1" }],
      calls: [
        { to: PROXY, input: "0xa9059cbb00", output: "0x01", logs: [{ address: PROXY, topics: ["0x01"], data: "0x", position: "0x0" }] },
        { to: PROXY, input: "0x095ea7b300", error: "execution reverted", logs: [{ address: PROXY, topics: ["0x02"], data: "0x" }] },
      ],
    };
    const o = observe(trace, undefined, PROXY);
    expect(o.logs.map((l) => l.topics[0])).to.deep.equal(["0x01", "0x03"]);
    expect(o.status).to.equal("success");
    expect(o.gasUsed).to.equal(21_000n);
    expect(o.proxySelectors).to.deep.equal(["0xa9059cbb", "0x095ea7b3"]);
  });

  it("uses the node's log index when it gives one", () => {
    const trace: CallFrame = {
      to: OTHER,
      gasUsed: "0x1",
      logs: [{ address: OTHER, topics: ["0x02"], data: "0x", index: "0x1", position: "0x0" }],
      calls: [{ to: PROXY, logs: [{ address: PROXY, topics: ["0x01"], data: "0x", index: "0x0", position: "0x0" }] }],
    };
    expect(observe(trace, undefined, PROXY).logs.map((l) => l.topics[0])).to.deep.equal(["0x01", "0x02"]);
  });

  it("keeps the revert data of a failed execution", () => {
    const o = observe({ to: PROXY, gasUsed: "0x10", error: "execution reverted", output: "0x08C379A0" }, undefined, PROXY);
    expect(o).to.deep.include({ status: "revert", error: "execution reverted", revertData: "0x08c379a0" });
    expect(o.returnData).to.equal(undefined);
  });

  it("reads the proxy's storage writes from a prestate diff, including slots cleared to zero", () => {
    const writes = storageWrites(
      {
        pre: { [PROXY.toUpperCase().replace("0X", "0x")]: { storage: { [word(1)]: word(5), [word(2)]: word(7) } } },
        post: { [PROXY]: { storage: { [word(1)]: word(6), "0x3": "0x9" } }, [OTHER]: { storage: { [word(1)]: word(1) } } },
      },
      PROXY,
    );
    expect(writes).to.deep.equal({ [word(1)]: word(6), [word(2)]: word(0), [word(3)]: word(9) });
  });
});
