/**
 * Loads the schema of every step a release record may carry into the
 * store's catalogue (src/release/step-catalogue.ts), so that the store
 * refuses to rewrite a record with any damaged step and its listing names
 * it. The store sits below the modules that own the steps, so they register
 * themselves; this module, above them all, makes sure every one has.
 *
 * Every command loads it through its output conventions (src/ui/output.ts),
 * so none can rewrite a record whose steps it did not check.
 */
import { registerRecordStep } from "../release/step-catalogue.js";
import { monitorStepSchema } from "../monitor/monitor-step.js";
import { wavesStepSchema } from "../waves/waves-step.js";
import "../replay/replay-step-schema.js";
import "../gates/gates-step-schema.js";

// The monitor and the waves own these; they are registered here until their modules do it themselves.
registerRecordStep("monitor", { schema: monitorStepSchema, recordedBy: { command: "bg:monitor" } });
registerRecordStep("waves", { schema: wavesStepSchema });
