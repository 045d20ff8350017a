// ONNX Runtime (onnxruntime-node) side of qforge's interop checks: runs a model on raw float32
// samples and writes output 0 as raw float32 — the same contract as `qforge infer`.
//   node tools/ort/ort_infer.js MODEL.onnx INPUT.bin OUTPUT.bin [--threads N] [--batch B]
//        [--optimization all|extended|basic|disabled] [--op-counts FILE.json]
// INPUT holds samples in logical (N, C, H, W) order; N = file size / sample size, the sample shape
// taken from the model's input (its non-batch dimensions).
// --optimization is ONNX Runtime's graph optimization level (default all: what a user gets).
// --op-counts runs the session with ONNX Runtime's profiler on and writes, from the profile, how
// many distinct nodes of each op type ran ({"QLinearConv": 20, "Conv": 0, ...}): after graph
// optimization, so it shows which convolutions ran on int8 kernels.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const ort = require('onnxruntime-node');

function fail(msg) {
  console.error('ort_infer: ' + msg);
  process.exit(2);
}

function option(name, dflt) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
}

// Distinct node names per op type among the profile's node events.
function countOps(profileFile) {
  const nodes = {};
  for (const e of JSON.parse(fs.readFileSync(profileFile, 'utf8'))) {
    if (e.cat !== 'Node' || !e.args || !e.args.op_name) continue;
    const node = e.name.replace(/_(kernel_time|fence_before|fence_after)$/, '');
    (nodes[e.args.op_name] = nodes[e.args.op_name] || new Set()).add(node);
  }
  const counts = {};
  for (const [op, set] of Object.entries(nodes)) counts[op] = set.size;
  return counts;
}

async function main() {
  const [model, input, output] = process.argv.slice(2, 5);
  if (!model || !input || !output)
    fail('usage: node ort_infer.js MODEL.onnx INPUT.bin OUTPUT.bin [--threads N] [--batch B] ' +
         '[--optimization all|extended|basic|disabled] [--op-counts FILE.json]');
  const threads = Number(option('--threads', 2));
  const level = option('--optimization', 'all');
  const levels = ['disabled', 'basic', 'extended', 'all'];
  if (!levels.includes(level)) fail(`--optimization '${level}' is not one of ${levels.join(', ')}`);
  const opCounts = option('--op-counts', '');
  const profileDir = opCounts ? fs.mkdtempSync(path.join(os.tmpdir(), 'ort_profile_')) : '';
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: level,
    enableProfiling: !!opCounts, profileFilePrefix: path.join(profileDir, 'profile')});
  const inName = session.inputNames[0];
  const meta = session.inputMetadata ? session.inputMetadata[0] : null;
  const dims = meta && meta.shape ? meta.shape.slice(1).map(Number) : null;
  if (!dims || dims.some((d) => !(d > 0))) fail('cannot read the input shape of ' + model);
  const per = dims.reduce((a, b) => a * b, 1);
  const buf = fs.readFileSync(input);
  const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const n = all.length / per;
  const batch = Number(option('--batch', n));
  const out = [];
  for (let s = 0; s < n; s += batch) {
    const k = Math.min(batch, n - s);
    const x = new ort.Tensor('float32', all.slice(s * per, (s + k) * per), [k, ...dims]);
    const r = await session.run({[inName]: x});
    out.push(Buffer.from(r[session.outputNames[0]].data.buffer.slice(0)));
  }
  fs.writeFileSync(output, Buffer.concat(out));
  if (opCounts) {
    session.endProfiling();
    const files = fs.readdirSync(profileDir).filter((f) => f.endsWith('.json'));
    if (files.length !== 1) fail(`expected one profile in ${profileDir}, found ${files.length}`);
    fs.writeFileSync(opCounts, JSON.stringify(countOps(path.join(profileDir, files[0]))) + '\n');
    fs.rmSync(profileDir, {recursive: true});
  }
}
main().catch((e) => { console.error('ort_infer: ' + e.message); process.exit(1); });
