#!/usr/bin/env bash
# Fresh-machine setup. Hardhat 3 needs Node >= 22.13, and npm must itself run
# under Node 22 or it silently skips EDR's native package (HHE27 at run time).
# The machine may only have Node 20, so take Node 22 from the npm registry and
# run the install under it. Afterwards `node_modules/.bin/node` is Node 22 and
# every npm script / npx call in this project runs on it.
set -euo pipefail
cd "$(dirname "$0")/.."
# `npm install`, not `npm ci`: npm 11 leaves other platforms' optional packages
# (EDR's and anvil's native builds) out of the lockfile, and then its own
# `npm ci` refuses that lockfile as out of sync. `npm install` still installs
# exactly the locked versions.
npx --yes --package=node@22 -- npm install --no-audit --no-fund
# Prove the native EDR binding loads before anything else depends on it.
node_modules/.bin/node -e "import('@nomicfoundation/edr').then(() => console.log('setup: Node', process.version, 'with EDR ready'))"
# Compile the contracts, export the shipped artifacts and build dist/.
PATH="$PWD/node_modules/.bin:$PATH" npm run build --silent
