// End-to-end: the WebGPU engine in Chromium with software WebGPU (SwiftShader): the pretrained model on
// the GPU, the GPU engine against the CPU engine on the same photo, and the CPU taking over when the
// device is lost — each run failing on a console error or a request that is not same-origin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { serveForTests, artifacts } from './server.mjs';
import { launch, openApp, pixelStats, WEBGPU_FLAGS } from './browser.mjs';

const server = serveForTests();

const report = (page) => page.evaluate(() => ({ ...document.documentElement.dataset }));

/** Wait until the page reports a result newer than `after` (a `data-run-id`). */
const nextResult = (page, after, timeout = 600_000) => page.waitForFunction(
  (previous) => {
    const id = document.documentElement.dataset.runId;
    return id !== undefined && Number(id) > previous;
  }, after, { timeout });

async function withPage(name, fragment, body) {
  const context = await launch(WEBGPU_FLAGS);
  try {
    const { page, consoleErrors, requests } = await openApp(context, server.url + fragment);
    try {
      await body(page);
    } finally {
      const screenshot = await page.screenshot();
      await writeFile(join(artifacts, `${name}.png`), screenshot);
      await writeFile(join(artifacts, `${name}.json`),
        JSON.stringify({ report: await report(page), consoleErrors, requests }, null, 2));
      assert.deepEqual(consoleErrors, [], 'no console errors');
      const origin = new URL(server.url).origin;
      const foreign = requests.filter((url) => !url.startsWith('data:') && !url.startsWith('blob:')
        && new URL(url).origin !== origin);
      assert.deepEqual(foreign, [], 'every request is same-origin');
      const stats = await pixelStats(context, screenshot);
      assert.ok(stats.distinctColors > 50 && stats.dominantShare < 0.99, `not blank: ${JSON.stringify(stats)}`);
    }
  } finally {
    await context.close();
  }
}

test('the pretrained model on the WebGPU engine sees espresso', { timeout: 700_000 }, async () => {
  await withPage('gpu-coffee', '#model=efficientnet_lite0&tab=run&sample=coffee.png', async (page) => {
    await nextResult(page, 0);
    const r = await report(page);
    assert.equal(r.backend, 'webgpu');
    assert.equal(r.engine, 'webgpu', `the GPU engine ran it (${r.engineFallback ?? ''})`);
    assert.equal(r.top1, 'espresso');
    assert.ok(Number(r.top1Probability) > 0.9, `espresso with ${r.top1Probability}`);
    console.log(`in-browser WebGPU (SwiftShader) inference, efficientnet_lite0 224²: ${r.runMs} ms of GPU time, `
      + `${r.runWallMs} ms from start to result`);
  });
});

// The GPU engine against the CPU engine in the page, on the four models the issue names: the same
// photo on both, the page reports the largest logit difference over the largest logit.
for (const model of ['mobilenet_v2', 'shufflenet_v2_x1_0', 'ghostnet_100', 'efficientnet_lite0']) {
  test(`${model}: the WebGPU engine matches the CPU engine in the browser`, { timeout: 900_000 }, async () => {
    await withPage(`compare-${model}`, `#model=${model}&tab=run&sample=chelsea.png`, async (page) => {
      await nextResult(page, 0);
      const first = await report(page);
      assert.equal(first.engine, 'webgpu', `GPU first (${first.engineFallback ?? ''})`);
      await page.evaluate((m) => { window.location.hash = `model=${m}&tab=run&engine=cpu`; }, model);
      await nextResult(page, Number(first.runId));
      const second = await report(page);
      assert.equal(second.engine, 'cpu');
      assert.equal(second.compareEngines, 'webgpu,cpu');
      const relative = Number(second.compareRelative);
      assert.ok(relative <= 1e-3, `${model}: |GPU − CPU| / max = ${relative}`);
      console.log(`${model}: WebGPU ${first.runMs} ms, CPU ${second.runMs} ms, relative logit difference ${relative}`);
    });
  });
}

test('a lost device ends in a CPU result and a message', { timeout: 700_000 }, async () => {
  await withPage('device-lost', '#model=mobilenet_v2&tab=run&sample=coffee.png', async (page) => {
    await nextResult(page, 0);
    const gpu = await report(page);
    assert.equal(gpu.engine, 'webgpu');
    await page.evaluate(() => window.convscopeLoseDevice());
    await nextResult(page, Number(gpu.runId));
    const cpu = await report(page);
    assert.equal(cpu.engine, 'cpu');
    assert.equal(cpu.backend, 'cpu', 'the badge says CPU');
    assert.match(cpu.engineFallback ?? '', /device was lost|destroyed/);
    assert.equal(cpu.top1, gpu.top1, 'the same guess');
  });
});
