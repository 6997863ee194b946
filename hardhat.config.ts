import { createRequire } from "node:module";
import hardhatToolboxViemPlugin from "@nomicfoundation/hardhat-toolbox-viem";
import { configVariable, defineConfig } from "hardhat/config";

const require = createRequire(import.meta.url);

// solc ships inside the `solc` npm package (pinned to the same version), so no
// compiler download is ever needed: the machines reach only the npm registry.
const solc = {
  version: "0.8.28",
  path: require.resolve("solc/soljson.js"),
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: "cancun",
  },
};

export default defineConfig({
  plugins: [hardhatToolboxViemPlugin],
  solidity: {
    profiles: {
      default: solc,
      production: solc,
    },
  },
  paths: {
    sources: "contracts/src",
    tests: {
      solidity: "contracts/test",
      nodejs: "contracts/test",
    },
    ignition: "contracts/ignition",
  },
  networks: {
    // A `hardhat node` on this machine, e.g. started by `npm run chain`.
    localhost: {
      type: "http",
      chainType: "l1",
      url: "http://127.0.0.1:8545",
    },
    // Public testnet: the RPC URL and deployer key come from the Hardhat keystore
    // (`npx hardhat keystore set SEPOLIA_PRIVATE_KEY`) or the environment, never the repo.
    sepolia: {
      type: "http",
      chainType: "l1",
      url: configVariable("SEPOLIA_RPC_URL"),
      accounts: [configVariable("SEPOLIA_PRIVATE_KEY")],
    },
  },
});
