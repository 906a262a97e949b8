// Compiles contracts/sol/*.sol with the pinned solc-js and writes deterministic artifacts
// (ABI + bytecode JSON) to contracts/artifacts/. With --check, compiles to memory and fails
// unless the committed artifacts match byte for byte. Run through scripts/build-contracts.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const solc = require("solc");

// One pinned EVM version for the compiler, revm's spec and anvil's hardfork. Cancun: OpenZeppelin 5.4
// needs MCOPY, and Etherlink runs Cancun-level EVM.
export const EVM_VERSION = "cancun";
const MAX_RUNTIME_BYTES = 24576;
const CONTRACTS = [
  "ATNToken", "RepToken", "Timelock", "AutonetGovernor", "Registry", "ParticipantStaking",
  "Project", "TaskContract", "ResultsRewards", "RPB", "ModelShardRegistry",
];

const here = path.dirname(fileURLToPath(import.meta.url));
const solDir = path.join(here, "sol");
const outDir = path.join(here, "artifacts");
const check = process.argv.includes("--check");

const sources = {};
for (const f of fs.readdirSync(solDir).filter((f) => f.endsWith(".sol")).sort()) {
  sources[`sol/${f}`] = { content: fs.readFileSync(path.join(solDir, f), "utf8") };
}
const input = {
  language: "Solidity",
  sources,
  settings: {
    evmVersion: EVM_VERSION,
    optimizer: { enabled: true, runs: 200 },
    metadata: { bytecodeHash: "none" },
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
  },
};
function findImports(p) {
  const candidates = [path.join(here, "node_modules", p), path.join(here, p)];
  for (const c of candidates) {
    if (fs.existsSync(c)) return { contents: fs.readFileSync(c, "utf8") };
  }
  return { error: `import not found: ${p}` };
}
const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (output.errors || []).filter((e) => e.severity === "error");
for (const e of output.errors || []) console.error(e.formattedMessage);
if (errors.length) process.exit(1);

const byName = {};
for (const file of Object.keys(output.contracts)) {
  for (const [name, c] of Object.entries(output.contracts[file])) byName[name] = c;
}
let failed = false;
if (!check) fs.mkdirSync(outDir, { recursive: true });
for (const name of CONTRACTS) {
  const c = byName[name];
  if (!c) { console.error(`missing contract ${name}`); failed = true; continue; }
  const runtime = c.evm.deployedBytecode.object.length / 2;
  if (runtime > MAX_RUNTIME_BYTES) { console.error(`${name}: ${runtime} bytes > ${MAX_RUNTIME_BYTES}`); failed = true; }
  const artifact = {
    contractName: name,
    compiler: `solc-js ${solc.version()}`,
    evmVersion: EVM_VERSION,
    runtimeSize: runtime,
    abi: c.abi,
    bytecode: `0x${c.evm.bytecode.object}`,
    deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
  };
  const text = `${JSON.stringify(artifact, null, 2)}\n`;
  const file = path.join(outDir, `${name}.json`);
  if (check) {
    const committed = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : null;
    if (committed !== text) { console.error(`${name}: committed artifact differs from a fresh compile`); failed = true; }
  } else {
    fs.writeFileSync(file, text);
  }
  console.log(`${name}: ${runtime} bytes runtime`);
}
if (failed) process.exit(1);
