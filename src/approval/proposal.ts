/**
 * The approval path's public face for callers outside it (tasks, the demo,
 * tests): propose, approve and check a proposal, whatever the approver call.
 * Each concern lives in its own module; the approval modules import those
 * directly, never this file.
 *
 * 1. propose (propose.ts): the call is built, simulated from the approver
 *    (simulate.ts), its facts pinned, and the proposal files written;
 * 2. approve (approve.ts): owners add signatures, each checked against the
 *    Safe's owners, refused if the proposal went stale (check.ts);
 * 3. execute (execute.ts): drift re-checks, simulation, the journaled send.
 *
 * pipeline.ts runs these for every flow (a release, a wave, a window call,
 * any approver call); the flows only say what their call is and what to record.
 */
export {
  type Actor,
  type ApprovalEnv,
  type ApproverCallSpec,
  PROPOSAL_SCHEMA_VERSION,
  type Proposal,
  actorCall,
  actorSchema,
  journalMatches,
  proposalSchema,
  requireProposal,
} from "./proposal-schema.js";
export { type ProposeOptions, type ProposeOutcome, proposeApproverCall } from "./propose.js";
export { type ServicePosting, pullServiceSignatures } from "./service-signatures.js";
export { describeActor, resolveApprover } from "./approver.js";
export { type ProposalCheck, type SignatureTally, assertHashesIntegral, assertNotStale, checkProposal, tallySignatures } from "./check.js";
export { type ApproveInput, type ApproveOutcome, approveProposal } from "./approve.js";
export { simulateCall } from "./simulate.js";
export { argString, describeRevert } from "./revert.js";
export type { Fact } from "./facts.js";
