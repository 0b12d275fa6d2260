// convscope's two engines in the browser against onnxruntime-web's WebGPU and wasm providers: same
// Chromium (software WebGPU: SwiftShader, as the browser tests use), same machine, same run. Not run in
// CI. Set-up, from the repository root:
//
//   /work/venv/torch/bin/python tools/bench_peers.py --export     # ONNX files into target/bench-peers/
//   cargo xtask build-web                                          # the app into dist/
//   (cd tools/bench_web && npm ci && npm run bench)                # [runs=N] [models…]
//
// Per model and engine: the median of N runs (default 20) after warm-up. convscope: the app's page on the
// model with the coffee sample, rerun N times (window.convscopeRerun); its time from the run's start to
// the logits on the host (data-run-wall-ms, frames included) and its compute time (data-run-ms: GPU
// timestamps, or the CPU's busy time). onnxruntime-web: session.run, upload and read-back included,
// one wasm thread (the page is not cross-origin isolated, so no wasm threads on either side).
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, dirname, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, WEBGPU_FLAGS } from '../../tests/e2e/browser.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../..');
const MIME = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm',
  '.png': 'image/png', '.onnx': 'application/octet-stream', '.safetensors': 'application/octet-stream' };
const mounts = [
  ['/ort/', join(here, 'node_modules/onnxruntime-web/dist')],
  ['/models/', join(root, 'target/bench-peers')],
  ['/ort.html', join(here, 'ort.html')],
  ['/', join(root, 'dist')],
];

function serve() {
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const [prefix, dir] = mounts.find(([p]) => path === p || (p.endsWith('/') && path.startsWith(p)));
    let file = prefix.endsWith('/') ? normalize(join(dir, path.slice(prefix.length))) : dir;
    if ((await stat(file).catch(() => null))?.isDirectory()) file = join(file, 'index.html');
    const body = await readFile(file).catch(() => null);
    if (body === null) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' });
    res.end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function convscope(context, base, model, engine, runs) {
  const page = await context.newPage();
  await page.goto(`${base}/#model=${model}&tab=run&sample=coffee.png&engine=${engine}`);
  const next = async (after) => {
    await page.waitForFunction((p) => Number(document.documentElement.dataset.runId ?? 0) > p, after,
      { timeout: 900_000 });
    return page.evaluate(() => ({ ...document.documentElement.dataset }));
  };
  let last = await next(0); // warm-up: pipelines, weights upload
  const wall = [];
  const compute = [];
  for (let i = 0; i < runs; i++) {
    await page.evaluate(() => window.convscopeRerun());
    last = await next(Number(last.runId));
    if (last.engine !== (engine === 'cpu' ? 'cpu' : 'webgpu')) throw new Error(`ran on ${last.engine}: ${last.engineFallback}`);
    wall.push(Number(last.runWallMs));
    compute.push(Number(last.runMs));
  }
  await page.close();
  return { wall: median(wall), compute: median(compute) };
}

async function ort(context, base, file, ep, runs) {
  const page = await context.newPage();
  await page.goto(`${base}/ort.html?model=${file}&ep=${ep}&runs=${runs}`);
  await page.waitForFunction(() => document.documentElement.dataset.medianMs || document.documentElement.dataset.error,
    null, { timeout: 1_800_000 });
  const r = await page.evaluate(() => ({ ...document.documentElement.dataset }));
  await page.close();
  if (r.error) throw new Error(`onnxruntime-web ${ep}: ${r.error}`);
  return Number(r.medianMs);
}

const args = process.argv.slice(2);
const runs = Number(args.find((a) => /^\d+$/.test(a)) ?? 20);
const models = args.filter((a) => !/^\d+$/.test(a));
const files = { efficientnet_lite0: 'efficientnet_lite0-trained.onnx', mobilenet_v2: 'mobilenet_v2.onnx' };
const server = await serve();
const base = `http://127.0.0.1:${server.address().port}`;
const context = await launch(WEBGPU_FLAGS);
const version = JSON.parse(await readFile(join(here, 'node_modules/onnxruntime-web/package.json'))).version;
console.log(`Chromium ${context.browser()?.version() ?? ''}, software WebGPU (SwiftShader), onnxruntime-web ${version}, ${runs} runs each\n`);
console.log('| model | convscope WebGPU (start → logits; GPU time) | onnxruntime-web WebGPU | ratio | convscope CPU wasm (busy; start → logits) | onnxruntime-web wasm, 1 thread | ratio |');
console.log('|---|---|---|---|---|---|---|');
for (const model of models.length ? models : Object.keys(files)) {
  const gpu = await convscope(context, base, model, 'webgpu', runs);
  const ortGpu = await ort(context, base, files[model], 'webgpu', runs);
  const cpu = await convscope(context, base, model, 'cpu', runs);
  const ortCpu = await ort(context, base, files[model], 'wasm', runs);
  console.log(`| ${model} | ${gpu.wall.toFixed(0)} ms; ${gpu.compute.toFixed(0)} ms | ${ortGpu.toFixed(0)} ms | `
    + `${(gpu.wall / ortGpu).toFixed(2)}× | ${cpu.compute.toFixed(0)} ms; ${cpu.wall.toFixed(0)} ms | ${ortCpu.toFixed(0)} ms | `
    + `${(cpu.compute / ortCpu).toFixed(2)}× |`);
}
await context.close();
server.close();
