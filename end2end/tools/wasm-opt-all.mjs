// `wasm-opt -Oz` on every module named, in place, in one process: binaryen's
// JavaScript build compiles itself for about a second at each start, which
// for a hundred chunks cost more than optimising them. The features are the
// ones `cargo xtask` passes to the wasm-opt command (xtask/src/web.rs).
//
// usage: node tools/wasm-opt-all.mjs FILE.wasm...
import fs from 'node:fs';
import binaryen from 'binaryen';

const F = binaryen.Features;
const features =
  F.BulkMemory | F.BulkMemoryOpt | F.NontrappingFPToInt | F.SignExt |
  F.MutableGlobals | F.ReferenceTypes | F.Multivalue;

binaryen.setOptimizeLevel(2);
binaryen.setShrinkLevel(2);
for (const file of process.argv.slice(2)) {
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
