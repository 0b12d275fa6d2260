// Endurance: 200 inferences in a row in Chromium (CPU engine), alternating two models and two photos by
// link, while the wasm module's memory and the JS heap are watched (printed, and bounded).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { serveForTests, artifacts } from './server.mjs';
import { launch, openApp, NO_WEBGPU_FLAGS } from './browser.mjs';

const server = serveForTests();

const RUNS = 200;
const WARM_UP = 20;
// The pretrained default and a seeded model of another family; the two samples.
const MODELS = ['efficientnet_lite0', 'mobilenet_v2'];
const PHOTOS = ['coffee.png', 'chelsea.png'];

test(`${RUNS} inferences alternating two models and two photos: memory stays bounded`, { timeout: 900_000 }, async () => {
  // --expose-gc: the heap is measured after a collection, so only what is still referenced counts.
  const context = await launch([...NO_WEBGPU_FLAGS, '--js-flags=--expose-gc', '--enable-precise-memory-info']);
  try {
    const { page, consoleErrors } = await openApp(context, `${server.url}#tab=run`);
    const rows = [];
    for (let i = 0; i < RUNS; i += 1) {
      const model = MODELS[i % 2];
      const photo = PHOTOS[Math.floor(i / 2) % 2];
      const previous = await page.evaluate(() => document.documentElement.dataset.runId);
      await page.evaluate(([m, p]) => { window.location.hash = `#model=${m}&tab=run&sample=${p}`; }, [model, photo]);
      await page.waitForFunction(([m, p, before]) => {
        const d = document.documentElement.dataset;
        return d.runId !== before && d.runModel === m && d.runPhoto === p;
      }, [model, photo, previous], { timeout: 120_000 });
      const row = await page.evaluate(() => {
        window.gc();
        const d = document.documentElement.dataset;
        return {
          wasm: Number(d.wasmBytes), live: Number(d.heapBytes), heap: performance.memory.usedJSHeapSize,
          ms: Number(d.runMs), top1: d.top1,
        };
      });
      rows.push({ i, model, photo, ...row });
    }
    await writeFile(join(artifacts, 'endurance.json'), JSON.stringify(rows, null, 2));
    assert.deepEqual(consoleErrors, [], 'no console errors');

    // The same model on the same photo gives the same class every time.
    for (const row of rows) {
      const first = rows.find((r) => r.model === row.model && r.photo === row.photo);
      assert.equal(row.top1, first.top1, `run ${row.i}: ${row.model} on ${row.photo}`);
    }
    const mb = (bytes) => (bytes / 2 ** 20).toFixed(1);
    const warm = rows[WARM_UP - 1];
    const last = rows[RUNS - 1];
    const maxWasm = Math.max(...rows.slice(WARM_UP).map((r) => r.wasm));
    const maxHeap = Math.max(...rows.slice(WARM_UP).map((r) => r.heap));
    console.log(`endurance, ${RUNS} runs: wasm memory ${mb(rows[0].wasm)} MB after the first, ${mb(warm.wasm)} MB `
      + `after ${WARM_UP}, ${mb(last.wasm)} MB after ${RUNS} (max ${mb(maxWasm)}); JS heap ${mb(rows[0].heap)} / `
      + `${mb(warm.heap)} / ${mb(last.heap)} MB (max ${mb(maxHeap)}); held in wasm memory ${mb(rows[0].live)} / `
      + `${mb(warm.live)} / ${mb(last.live)} MB (max ${mb(Math.max(...rows.slice(WARM_UP).map((r) => r.live)))})`);
    // wasm memory only grows (pages are never returned). Keeping a run's maps or an engine per run would
    // add tens of MB each time (EfficientNet-Lite0's maps at 224², unfused, are 76 MB by `convscope
    // table`): 180 runs would pass 2× at once. Slower growth (the allocator's free blocks fragmenting,
    // a few MB every few dozen runs) shows in the figures printed above.
    assert.ok(maxWasm < 2 * warm.wasm, `wasm memory grew from ${mb(warm.wasm)} to ${mb(maxWasm)} MB`);
    // What the program holds (`data-heap-bytes`, every allocation not yet freed) is the same after 200
    // runs as after the warm-up, on the same model and photo: nothing leaks, and whatever the wasm memory
    // grew by beyond it is the allocator's fragmentation.
    assert.equal(last.model, warm.model);
    assert.equal(last.photo, warm.photo);
    assert.ok(last.live <= warm.live + 2 * 2 ** 20, `held ${mb(warm.live)} MB after the warm-up, ${mb(last.live)} MB at the end`);
    // The JS heap after a collection: within 2 MB of where it stood after the warm-up.
    assert.ok(last.heap <= warm.heap + 2 * 2 ** 20, `JS heap grew from ${mb(warm.heap)} to ${mb(last.heap)} MB`);
  } finally {
    await context.close();
  }
});
