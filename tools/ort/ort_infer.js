// ONNX Runtime (onnxruntime-node) side of qforge's interop checks: runs a model on raw float32
// samples and writes output 0 as raw float32 — the same contract as `qforge infer`.
//   node tools/ort/ort_infer.js MODEL.onnx INPUT.bin OUTPUT.bin [--threads N] [--batch B]
// INPUT holds samples in logical (N, C, H, W) order; N = file size / sample size, the sample shape
// taken from the model's input (its non-batch dimensions).
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

async function main() {
  const [model, input, output] = process.argv.slice(2, 5);
  if (!model || !input || !output) {
    console.error('usage: node ort_infer.js MODEL.onnx INPUT.bin OUTPUT.bin [--threads N] [--batch B]');
    process.exit(2);
  }
  const threads = arg('--threads', 2);
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all'});
  const inName = session.inputNames[0];
  const meta = session.inputMetadata ? session.inputMetadata[0] : null;
  let dims = meta && meta.shape ? meta.shape.slice(1).map(Number) : null;
  if (!dims || dims.some((d) => !(d > 0))) {
    console.error('ort_infer: cannot read the input shape of ' + model);
    process.exit(2);
  }
  const per = dims.reduce((a, b) => a * b, 1);
  const buf = fs.readFileSync(input);
  const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const n = all.length / per;
  const batch = arg('--batch', n);
  const out = [];
  for (let s = 0; s < n; s += batch) {
    const k = Math.min(batch, n - s);
    const x = new ort.Tensor('float32', all.slice(s * per, (s + k) * per), [k, ...dims]);
    const r = await session.run({[inName]: x});
    out.push(Buffer.from(r[session.outputNames[0]].data.buffer.slice(0)));
  }
  fs.writeFileSync(output, Buffer.concat(out));
}
main().catch((e) => { console.error('ort_infer: ' + e.message); process.exit(1); });
