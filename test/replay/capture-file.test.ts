import { expect } from "chai";
import { Wallet } from "ethers";

import { captureToTraffic, formatCaptureLine, parseCaptureFile } from "../../src/replay/capture-file.js";

const PROXY = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
const wallet = new Wallet("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");

async function rawTx(): Promise<string> {
  return wallet.signTransaction({
    to: PROXY,
    data: "0xa9059cbb" + "00".repeat(64),
    gasLimit: 100_000n,
    maxFeePerGas: 2_000_000_000n,
    maxPriorityFeePerGas: 1_000_000_000n,
    nonce: 3,
    chainId: 31337n,
    type: 2,
  });
}

describe("capture files (JSON Lines)", function () {
  it("reads signed transactions, bare raw strings and calls, skipping blank lines", async () => {
    const raw = await rawTx();
    const text = [
      formatCaptureLine({ kind: "tx", raw, blockNumber: 12 }),
      "",
      JSON.stringify(raw),
      formatCaptureLine({ kind: "call", from: wallet.address, to: PROXY, data: "0x70a08231", value: "0x0", gas: "0x30d40", blockNumber: 14 }),
      "  ",
    ].join("\n");
    const lines = parseCaptureFile(text, "capture.jsonl");
    expect(lines.map((l) => [l.kind, l.line])).to.deep.equal([
      ["tx", 1],
      ["tx", 3],
      ["call", 4],
    ]);
    expect(lines[0]).to.include({ blockNumber: 12 });
    expect(lines[2]).to.include({ to: PROXY, blockNumber: 14, gas: "0x30d40" });

    const traffic = captureToTraffic(lines);
    expect(traffic[0]!.kind).to.equal("tx");
    if (traffic[0]!.kind === "tx") {
      expect(traffic[0].tx).to.include({ from: wallet.address.toLowerCase(), to: PROXY, nonce: 3, type: 2 });
      expect(traffic[0].tx.maxFeePerGas).to.equal(2_000_000_000n);
      expect(traffic[0].foundBy).to.deep.equal(["capture"]);
    }
    expect(traffic[2]).to.deep.include({ kind: "call", hash: "call@4", line: 4 });
  });

  it("rejects a line that is not JSON, naming the file and the line number", () => {
    expect(() => parseCaptureFile('{"kind":"call"}\n\n{not json', "traffic.jsonl")).to.throw(/^\[BG_REPLAY_CAPTURE_FILE\] traffic\.jsonl:1: "to" /);
    expect(() => parseCaptureFile('"0x"\n{not json', "traffic.jsonl")).to.throw(/traffic\.jsonl:1: "raw" must be a signed raw transaction/);
    expect(() => parseCaptureFile(`${JSON.stringify({ kind: "call", to: PROXY, data: "0x", blockNumber: 1 })}\n{not json`, "t.jsonl")).to.throw(
      /^\[BG_REPLAY_CAPTURE_FILE\] t\.jsonl:2: not valid JSON/,
    );
  });

  it("rejects unknown kinds, bad addresses, negative blocks, unknown fields and unsigned data, with the line number", async () => {
    const cases: Array<[string, RegExp]> = [
      ['{"kind":"transfer"}', /c\.jsonl:1: .*needs "kind": "tx".*or "kind": "call"/],
      [JSON.stringify({ kind: "call", to: "0x1234", data: "0x", blockNumber: 1 }), /c\.jsonl:1: "to" must be a 0x-prefixed 20-byte address/],
      [JSON.stringify({ kind: "call", to: PROXY, data: "0x", blockNumber: -1 }), /c\.jsonl:1: "blockNumber" /],
      [JSON.stringify({ kind: "call", to: PROXY, data: "0x", blockNumber: 1, extra: true }), /c\.jsonl:1: .*unrecognized key/i],
      [JSON.stringify({ kind: "tx", raw: "0xdeadbeef" }), /c\.jsonl:1: "raw" is not a signed raw transaction/],
      ["[1,2]", /c\.jsonl:1: not a JSON object or string/],
    ];
    for (const [line, message] of cases) {
      expect(() => parseCaptureFile(line, "c.jsonl"), line).to.throw(message);
    }
    const good = formatCaptureLine({ kind: "tx", raw: await rawTx() });
    expect(() => parseCaptureFile(`${good}\n${good}\n{"kind":"call","to":"0x12"}`, "c.jsonl")).to.throw(/^\[BG_REPLAY_CAPTURE_FILE\] c\.jsonl:3: /);
  });
});
