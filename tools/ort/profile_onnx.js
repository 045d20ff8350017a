#!/usr/bin/env node
// Runs one ONNX model in ONNX Runtime (CPU, all graph optimisations) with its profiler on and
// writes the profile (Chrome trace JSON: one event per node and run, with the node's input and
// output shapes) to --out; bench/layer_compare.py sets it beside qforge's per-layer times.
//
//   node tools/ort/profile_onnx.js [--batch 16] [--runs 8] [--warmup 3] [--threads 2]
//        --out profile.json model.onnx
//
// The profiler adds a little time to every node; compare totals with bench_onnx.js.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const ort = require('onnxruntime-node');

function fail(msg) {
  process.stderr.write(`profile_onnx: error: ${msg}\n`);
  process.exit(2);
}

function parse(argv) {
  const o = { batch: 16, runs: 8, warmup: 3, threads: 2, out: '', model: '' };
  for (let i = 0; i < argv.length; ++i) {
    if (!argv[i].startsWith('--')) {
      if (o.model) fail(`one model only, got ${o.model} and ${argv[i]}`);
      o.model = argv[i];
      continue;
    }
    const k = argv[i].slice(2);
    if (!(k in o) || k === 'model') fail(`unknown option ${argv[i]}`);
    if (i + 1 >= argv.length) fail(`${argv[i]} needs a value`);
    const v = argv[++i];
    if (k === 'out') { o.out = v; continue; }
    o[k] = Number(v);
    if (!Number.isInteger(o[k]) || o[k] < 1) fail(`--${k} must be a positive integer, got ${v}`);
  }
  if (!o.model) fail('name the model');
  if (!o.out) fail('name the profile to write with --out');
  return o;
}

async function main() {
  const o = parse(process.argv.slice(2));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ortprof-'));
  const session = await ort.InferenceSession.create(o.model, {
    intraOpNumThreads: o.threads, interOpNumThreads: 1, graphOptimizationLevel: 'all',
    enableProfiling: true, profileFilePrefix: path.join(tmp, 'p') });
  let dims = [o.batch, 3, 224, 224];
  const meta = session.inputMetadata && session.inputMetadata[0];
  if (meta && meta.shape && meta.shape.length === 4)
    dims = meta.shape.map((d, i) => (i === 0 ? o.batch : typeof d === 'number' ? d : 224));
  const x = new Float32Array(dims.reduce((a, b) => a * b, 1));
  for (let i = 0; i < x.length; ++i) x[i] = Math.sin(i * 0.37);
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', x, dims) };
  for (let i = 0; i < o.warmup + o.runs; ++i) await session.run(feeds);
  session.endProfiling();
  const written = fs.readdirSync(tmp).filter((f) => f.endsWith('.json'));
  if (written.length !== 1) fail(`ONNX Runtime wrote ${written.length} profiles, expected 1`);
  fs.copyFileSync(path.join(tmp, written[0]), o.out);
  fs.rmSync(tmp, { recursive: true });
}

main().catch((e) => fail(e.message.split('\n')[0]));
