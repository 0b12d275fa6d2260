// End-to-end: the insight views in Chromium with software WebGPU, opened by link on a sample photo —
// the Ghost lab on the pretrained EfficientNet-Lite0's GPU maps (read back whole from the GPU) and on
// GhostNet's Ghost modules, the shuffle explorer on ShuffleNet V2, the separable lesson — each with a
// screenshot, no console error and only same-origin requests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { serveForTests, artifacts } from './server.mjs';
import { launch, openApp, pixelStats, WEBGPU_FLAGS } from './browser.mjs';

const server = serveForTests();

const report = (page) => page.evaluate(() => ({ ...document.documentElement.dataset }));

/** The `data-insight` fields once the view reports `view=<name>` (and `extra` holds). */
async function insight(page, view, extra = () => true, timeout = 600_000) {
  await page.waitForFunction((v) => (document.documentElement.dataset.insight ?? '').startsWith(`view=${v} `),
    view, { timeout });
  const text = (await report(page)).insight;
  const fields = Object.fromEntries(text.split(' ').map((kv) => kv.split('=')));
  assert.ok(extra(fields), `${view}: ${text}`);
  return fields;
}

async function withPage(name, fragment, body) {
  const context = await launch(WEBGPU_FLAGS);
  try {
    const { page, consoleErrors, requests } = await openApp(context, server.url + fragment);
    try {
      await body(page);
    } finally {
      await page.waitForTimeout(500);
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

test('the Ghost lab measures channel redundancy on the pretrained model\'s GPU maps', { timeout: 700_000 }, async () => {
  await withPage('insight-ghost-lite0', '#model=efficientnet_lite0&tab=ghost&layer=blocks.2.0.bn1.act&sample=coffee.png',
    async (page) => {
      const f = await insight(page, 'ghost', (f) => f.engine === 'webgpu');
      assert.equal(f.layer, 'blocks.2.0.bn1.act');
      assert.equal(f.channels, '144');
      // `convscope similarity efficientnet_lite0 --image coffee.png --layer blocks.2.0.bn1.act` on the CPU
      // engine: 56% of the channels have a twin at 0.9, the top pair 33 ~ 122 at 0.9989 (81 of 144).
      assert.ok(Math.abs(Number(f.redundancy) - 81 / 144) < 0.02, `redundancy ${f.redundancy}`);
      const [a, b, cosine] = f.top.split(',');
      assert.deepEqual([a, b], ['33', '122']);
      assert.ok(Math.abs(Number(cosine) - 0.9989) < 1e-3, `top cosine ${cosine}`);
    });
});

test('the Ghost lab pairs GhostNet\'s ghosts with their intrinsic maps', { timeout: 700_000 }, async () => {
  await withPage('insight-ghost-ghostnet', '#model=ghostnet_100&tab=ghost&sample=coffee.png', async (page) => {
    const f = await insight(page, 'ghost');
    assert.equal(f.layer, 'blocks.0.0.ghost1.primary_conv.2');
    await page.mouse.wheel(0, 1500);
  });
});

test('the shuffle explorer follows ShuffleNet V2\'s shuffle on the photo', { timeout: 700_000 }, async () => {
  await withPage('insight-shuffle', '#model=shufflenet_v2_x1_0&tab=shuffle&sample=coffee.png', async (page) => {
    // torchvision shufflenet_v2_x1_0's first shuffle: 116 channels, 2 groups (PyTorch's permutation).
    const f = await insight(page, 'shuffle');
    assert.equal(f.channels, '116');
    assert.equal(f.permutation, '0,58,1,59,2,60,3,61,4,62,5,63,6,64,7,65');
    assert.equal(Number(f.without), 0.5);
    assert.equal(Number(f.with), 1);
    await page.waitForFunction(() => document.documentElement.dataset.runId !== undefined, null, { timeout: 600_000 });
  });
});

test('the separable lesson computes MobileNet\'s ratio', { timeout: 300_000 }, async () => {
  await withPage('insight-dsc', '#model=mobilenet_v1&tab=dsc', async (page) => {
    const f = await insight(page, 'dsc');
    // Howard et al. 2017, Eq. 5: 1/512 + 1/9 for the 14×14 512 → 512 layer.
    assert.ok(Math.abs(Number(f.ratio) - (1 / 512 + 1 / 9)) < 1e-6, f.ratio);
  });
});

test('the conv-swap lab puts Ghost modules into ResNet-50', { timeout: 300_000 }, async () => {
  await withPage('insight-swap', '#model=resnet50&tab=swap', async (page) => {
    const f = await insight(page, 'swap');
    // `convscope table resnet50 --swap ghost --ghost 2,3`; Han et al. 2020, Table 5: 2.2B FLOPs.
    assert.equal(f.network, 'resnet50');
    assert.equal(f.macs, '2151023360');
    assert.equal(f.params, '13953512');
    assert.equal(f.layers, '52');
  });
});

test('three pretrained networks on one photo, on the WebGPU engine', { timeout: 900_000 }, async () => {
  await withPage('insight-compare', '#tab=compare&sample=coffee.png&compare=efficientnet_lite0,efficientnet_lite1,efficientnet_lite2',
    async (page) => {
      const f = await insight(page, 'compare', () => true);
      assert.ok(f);
      await page.waitForFunction(() => (document.documentElement.dataset.insight ?? '').includes('done=3'), null,
        { timeout: 900_000 });
      const r = (await report(page)).insight;
      // The CLI's pretrained tests: espresso (class 967) for all three.
      for (const id of ['efficientnet_lite0', 'efficientnet_lite1', 'efficientnet_lite2']) {
        assert.ok(r.includes(`${id}:967:webgpu`), r);
      }
    });
});

test('the Build view steps through GhostNet with each new block drawn inside', { timeout: 300_000 }, async () => {
  await withPage('build-stepping', '#model=ghostnet_100&tab=build', async (page) => {
    // Start over (Home), then add four blocks one by one (→), as a student would.
    await page.mouse.click(640, 400);
    await page.keyboard.press('Home');
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press('ArrowRight');
      await page.waitForTimeout(200);
    }
    await page.waitForTimeout(500);
    // The page keeps its link: the Build tab of GhostNet.
    const r = await report(page);
    assert.ok((r.model ?? '').includes('model=ghostnet_100&tab=build'), r.model);
  });
});
