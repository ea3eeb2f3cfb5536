import { startNode } from "../test/helpers/nodes.js";
const node = await startNode("hardhat");
const post = async (method: string, params: unknown[]) => (await (await fetch(node.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) })).json());
const accts = (await post("eth_accounts", [])).result;
await post("eth_sendTransaction", [{ from: accts[0], to: accts[1], value: "0x1" }]);
console.log(JSON.stringify(await post("debug_traceBlockByNumber", ["0x1", { tracer: "prestateTracer" }])).slice(0, 600));
console.log(JSON.stringify(await post("eth_getProof", [accts[0], [], "0x1"])).slice(0, 300));
await node.stop();
