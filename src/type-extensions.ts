import "hardhat/types/config";
import type { BlueGreenConfig, BlueGreenUserConfig } from "./config.js";

declare module "hardhat/types/config" {
  interface HardhatUserConfig {
    blueGreen?: BlueGreenUserConfig;
  }

  interface HardhatConfig {
    blueGreen: BlueGreenConfig;
  }
}
