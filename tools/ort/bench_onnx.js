#!/usr/bin/env node
// Times ONNX models in ONNX Runtime (CPU) on the same random batch, in one run, and prints one JSON
// line per model plus the speed-up of each over the first:
//
//   node tools/ort/bench_onnx.js [--batch 16] [--runs 20] [--warmup 3] [--threads 2]
//        [--rounds 3] model_fp32.onnx model_int8.onnx ...
//
// The input is (batch, C, H, W) float32 with C, H, W read from the first model's input (a symbolic
// batch dimension is set to --batch). Models are timed round-robin (`rounds` times `runs` runs
// each), so that load from other processes hits them alike; the median per-run time is reported.
'use strict';
const ort = require('onnxruntime-node');

function fail(msg) {
  process.stderr.write(`bench_onnx: error: ${msg}\n`);
  process.exit(2);
}

async function main() {
  const o = { batch: 16, runs: 20, warmup: 3, threads: 2, rounds: 3 };
  const models = [];
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; ++i) {
    if (argv[i].startsWith('--')) {
      const k = argv[i].slice(2);
      if (!(k in o)) fail(`unknown option ${argv[i]}`);
      o[k] = Number(argv[++i]);
      if (!Number.isInteger(o[k]) || o[k] < 1) fail(`--${k} must be a positive integer`);
    } else {
      models.push(argv[i]);
    }
  }
  if (models.length === 0) fail('name at least one model');
  const sessions = [];
  for (const m of models)
    sessions.push(await ort.InferenceSession.create(m, {
      intraOpNumThreads: o.threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' }));
  // Input shape from the first model's metadata (inputMetadata where available), else 3x224x224.
  let dims = [o.batch, 3, 224, 224];
  const meta = sessions[0].inputMetadata && sessions[0].inputMetadata[0];
  if (meta && meta.shape && meta.shape.length === 4)
    dims = meta.shape.map((d, i) => (i === 0 || typeof d !== 'number' ? (i === 0 ? o.batch : 224) : d));
  const n = dims.reduce((a, b) => a * b, 1);
  const x = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; ++i) { s = (s * 1103515245 + 12345) >>> 0; x[i] = (s / 4294967296) * 2 - 1; }
  const feeds = sessions.map((se) => ({ [se.inputNames[0]]: new ort.Tensor('float32', x, dims) }));
  const times = sessions.map(() => []);
  for (let k = 0; k < sessions.length; ++k)
    for (let w = 0; w < o.warmup; ++w) await sessions[k].run(feeds[k]);
  for (let r = 0; r < o.rounds; ++r)
    for (let k = 0; k < sessions.length; ++k)
      for (let i = 0; i < o.runs; ++i) {
        const t0 = process.hrtime.bigint();
        await sessions[k].run(feeds[k]);
        times[k].push(Number(process.hrtime.bigint() - t0) / 1e9);
      }
  const med = (v) => { const a = [...v].sort((p, q) => p - q); return a[Math.floor(a.length / 2)]; };
  const base = med(times[0]);
  for (let k = 0; k < sessions.length; ++k) {
    const t = med(times[k]);
    process.stdout.write(JSON.stringify({ model: models[k], batch: dims[0], input: dims,
      threads: o.threads, median_ms: t * 1000, images_per_sec: dims[0] / t,
      speedup_vs_first: base / t, ort_version: ort.env.versions.common }) + '\n');
  }
}

main().catch((e) => fail(e.message.split('\n')[0]));
