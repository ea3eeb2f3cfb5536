/**
 * What the gates that re-check the chain need: the release's chain, the
 * project's own build of green (at the build profile green was staged with),
 * and the release store. `bg:gates` builds it from Hardhat; library callers
 * and the demo pass their own.
 */
import type { StageConfig } from "../stage/config.js";
import type { ReleaseStore } from "../release/store.js";
import type { ArtifactSource } from "../stage/contract-build.js";
import type { Eip1193Provider } from "../chain/eip1193.js";

export interface ProjectChain {
  /** The release's chain. */
  provider: Eip1193Provider;
  /** The project's artifacts, built at the release's build profile. */
  artifacts: ArtifactSource;
  store: ReleaseStore;
  /** OpenZeppelin validation options (`blueGreen.stage`): the same as bg:stage used. */
  stageConfig: StageConfig;
  /** The build profile the artifacts were built with. */
  buildProfile: string;
}
