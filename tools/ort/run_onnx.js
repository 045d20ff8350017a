#!/usr/bin/env node
// Runs an ONNX classifier in ONNX Runtime (CPU) on MNIST-style idx data and prints one JSON object:
// top-1 accuracy, count, throughput, and optionally the logits of the first samples.
//
//   node tools/ort/run_onnx.js --model model.onnx [--data DIR] [--split test|train]
//        [--batch 250] [--limit N] [--threads 2] [--logits K] [--normalize 127.5,127.5]
//        [--optimization all|extended|basic|disabled]
//
// --optimization is ONNX Runtime's graph optimization level (default all). With `disabled` a QDQ
// model runs as written — DequantizeLinear, float Conv, QuantizeLinear: its float simulation —
// while `all` fuses the pattern into int8 kernels; `basic` and above also fold BatchNorm into
// float convolutions.
// DIR holds LeCun's idx files, plain or .gz (default: Debian's Fashion-MNIST,
// /usr/share/datasets/fashion-mnist). Pixels become (x - mean) / std, qforge's and PaddleSlim's
// (x - 127.5) / 127.5, laid out as (N, 1, H, W) float32. The model's first input is fed; its first
// output is taken as the logits. Install the runtime once with
//   (cd tools/ort && npm install --ignore-scripts)
// Exit code 2 with a one-line message on bad input.
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

function fail(msg) {
  process.stderr.write(`run_onnx: error: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { data: '/usr/share/datasets/fashion-mnist', split: 'test', batch: 250, limit: 0,
              threads: 2, logits: 0, normalize: '127.5,127.5', optimization: 'all' };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '');
    if (!(k in o) && k !== 'model') fail(`unknown option '${argv[i]}' (allowed: --model, --${Object.keys(o).join(', --')})`);
    if (i + 1 >= argv.length) fail(`option '${argv[i]}' needs a value`);
    o[k] = argv[i + 1];
  }
  if (!o.model) fail('say which model to run with --model FILE.onnx');
  for (const k of ['batch', 'limit', 'threads', 'logits']) {
    o[k] = Number(o[k]);
    if (!Number.isInteger(o[k]) || o[k] < 0) fail(`--${k} must be a non-negative integer`);
  }
  if (o.batch < 1) fail('--batch must be >= 1');
  if (o.split !== 'test' && o.split !== 'train') fail('--split must be test or train');
  const levels = ['disabled', 'basic', 'extended', 'all'];
  if (!levels.includes(o.optimization))
    fail(`--optimization '${o.optimization}' is not a graph optimization level (allowed: ${levels.join(', ')})`);
  return o;
}

function readIdx(dir, name) {
  const plain = path.join(dir, name);
  let buf;
  if (fs.existsSync(plain)) buf = fs.readFileSync(plain);
  else if (fs.existsSync(plain + '.gz')) buf = zlib.gunzipSync(fs.readFileSync(plain + '.gz'));
  else fail(`${plain}(.gz) does not exist`);
  const magic = buf.readUInt32BE(0);
  const rank = magic & 0xff;
  if ((magic >>> 8) !== 0x08 || rank < 1 || rank > 3) fail(`${plain}: not an unsigned-byte idx file`);
  const dims = [];
  for (let i = 0; i < rank; ++i) dims.push(buf.readUInt32BE(4 + 4 * i));
  const data = buf.subarray(4 + 4 * rank);
  if (data.length !== dims.reduce((a, b) => a * b, 1)) fail(`${plain}: size does not match its header`);
  return { dims, data };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  let ort;
  try {
    ort = require('onnxruntime-node');
  } catch (e) {
    fail('onnxruntime-node is not installed (run: cd tools/ort && npm install --ignore-scripts)');
  }
  const prefix = o.split === 'test' ? 't10k' : 'train';
  const images = readIdx(o.data, `${prefix}-images-idx3-ubyte`);
  const labels = readIdx(o.data, `${prefix}-labels-idx1-ubyte`);
  const [n0, h, w] = images.dims;
  if (labels.dims[0] !== n0) fail('image and label counts differ');
  const n = o.limit > 0 ? Math.min(o.limit, n0) : n0;
  const [mean, std] = o.normalize.split(',').map(Number);

  const session = await ort.InferenceSession.create(o.model, {
    intraOpNumThreads: o.threads, interOpNumThreads: 1, graphOptimizationLevel: o.optimization });
  const inName = session.inputNames[0], outName = session.outputNames[0];
  let correct = 0, seconds = 0;
  const firstLogits = [];
  for (let b = 0; b < n; b += o.batch) {
    const m = Math.min(o.batch, n - b);
    const x = new Float32Array(m * h * w);
    for (let i = 0; i < m * h * w; ++i) x[i] = (images.data[b * h * w + i] - mean) / std;
    const t0 = process.hrtime.bigint();
    const res = await session.run({ [inName]: new ort.Tensor('float32', x, [m, 1, h, w]) });
    seconds += Number(process.hrtime.bigint() - t0) / 1e9;
    const y = res[outName];
    const classes = y.dims[1];
    for (let i = 0; i < m; ++i) {
      let best = 0;
      for (let c = 1; c < classes; ++c) if (y.data[i * classes + c] > y.data[i * classes + best]) best = c;
      if (best === labels.data[b + i]) ++correct;
      if (firstLogits.length < o.logits) firstLogits.push(Array.from(y.data.subarray(i * classes, (i + 1) * classes)));
    }
  }
  const out = { model: o.model, count: n, top1: (100 * correct) / n, seconds,
                images_per_sec: n / seconds, threads: o.threads, ort_version: ort.env.versions.common };
  if (o.logits > 0) out.logits = firstLogits;
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => fail(e.message.split('\n')[0]));
