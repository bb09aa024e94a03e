// `wasm-opt -Oz` on every module named, in place, in one process: binaryen's
// JavaScript build compiles itself for about a second at each start, which
// for a hundred chunks cost more than optimising them. The features come as
// wasm-opt's own `--enable-…` flags, the ones `cargo xtask` gives the
// command (xtask/src/web.rs, `wasm_features`).
//
// usage: node tools/wasm-opt-all.mjs [--enable-FEATURE...] FILE.wasm...
import fs from 'node:fs';
import binaryen from 'binaryen';

const F = binaryen.Features;
// What each flag enables in the command (bulk memory brings its
// `memory.copy`/`memory.fill` half along).
const FLAGS = {
  'bulk-memory': F.BulkMemory | F.BulkMemoryOpt,
  'nontrapping-float-to-int': F.NontrappingFPToInt,
  'sign-ext': F.SignExt,
  'mutable-globals': F.MutableGlobals,
  'reference-types': F.ReferenceTypes,
  'multivalue': F.Multivalue,
};

let features = 0;
const files = [];
for (const arg of process.argv.slice(2)) {
  if (!arg.startsWith('--enable-')) {
    files.push(arg);
    continue;
  }
  const flag = FLAGS[arg.slice('--enable-'.length)];
  if (flag === undefined) {
    console.error(`unknown feature flag ${arg}`);
    process.exit(2);
  }
  features |= flag;
}

binaryen.setOptimizeLevel(2);
binaryen.setShrinkLevel(2);
for (const file of files) {
  const module = binaryen.readBinary(fs.readFileSync(file));
  module.setFeatures(features);
  module.optimize();
  if (!module.validate()) {
    console.error(`${file}: not valid after optimisation`);
    process.exit(1);
  }
  fs.writeFileSync(file, module.emitBinary());
  module.dispose();
}
