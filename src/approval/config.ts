/**
 * The `blueGreen.approval` config section: where Safe transactions are also
 * posted (the Safe Transaction Service) and who proposes on a
 * TimelockController approver.
 */
import { z } from "zod";

import { addressSchema } from "../common/schema.js";


export const approvalUserConfigSchema = z
  .object({
    /**
     * Base URL of a Safe Transaction Service (e.g. https://safe-transaction-mainnet.safe.global/api).
     * When set, bg:propose posts each Safe transaction there and bg:approve / bg:switch read its confirmations.
     */
    safeService: z.string().url().optional(),
    /** API key for Safe's hosted service (api.safe.global needs one); a self-hosted service needs none. */
    safeServiceApiKey: z.string().min(1).optional(),
    /**
     * For a TimelockController approver: the account (a Safe, or a plain account on development networks)
     * that holds the timelock's PROPOSER_ROLE and proposes `schedule(...)`.
     */
    timelockProposer: addressSchema.optional(),
  })
  .strict();

export type ApprovalUserConfig = z.infer<typeof approvalUserConfigSchema>;

export interface ApprovalConfig {
  safeService: string | undefined;
  safeServiceApiKey: string | undefined;
  timelockProposer: string | undefined;
}

export function resolveApprovalConfig(user: ApprovalUserConfig | undefined): ApprovalConfig {
  return {
    safeService: user?.safeService,
    safeServiceApiKey: user?.safeServiceApiKey,
    timelockProposer: user?.timelockProposer,
  };
}
