// Bad files dropped on the page: each ends with a visible message saying why (also in `data-message`),
// nothing is lost, and a good photo dropped afterwards runs. The CLI's battery
// (crates/cli/tests/bad_input.rs) covers every case; this one checks the page's path for a sample of them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { serveForTests, dist, artifacts, repo } from './server.mjs';
import { launch, openApp, NO_WEBGPU_FLAGS } from './browser.mjs';

const server = serveForTests();

/** Drop `bytes` on the canvas as a file named `name`, as a browser does. */
async function drop(page, name, bytes) {
  await page.evaluate(([n, b64]) => {
    const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([data], n));
    const canvas = document.querySelector('canvas');
    for (const type of ['dragenter', 'dragover', 'drop']) {
      canvas.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
    }
  }, [name, Buffer.from(bytes).toString('base64')]);
}

test('bad files dropped on the page are refused with the reason, and a good photo still runs', { timeout: 400_000 },
  async () => {
    const chelsea = await readFile(join(dist, 'assets', 'samples', 'chelsea.png'));
    const cases = [
      ['empty.png', Buffer.alloc(0), 'the file is empty'],
      ['notes.png', Buffer.from('just some text, not a picture\n'), 'not an image convscope can read'],
      ['cut.png', chelsea.subarray(0, chelsea.length >> 1), 'could not be decoded'],
      ['bomb.png', await readFile(join(repo, 'crates/input/tests/fixtures/huge_header.png')),
        '100000 × 100000 pixels; the limit is 50 megapixels'],
      ['hostile.pt', await readFile(join(repo, 'crates/weights/tests/fixtures/hostile.pt')), 'not on the allow-list'],
      ['cut.safetensors',
        (await readFile(join(repo, 'crates/cli/tests/fixtures/mobilenet_v1_025_f16.safetensors'))).subarray(0, 100),
        'the safetensors header ends early'],
    ];
    const context = await launch(NO_WEBGPU_FLAGS);
    try {
      const { page, consoleErrors } = await openApp(context, `${server.url}#model=squeezenet1_1&tab=run`);
      await page.waitForFunction(() => document.documentElement.dataset.backend !== undefined);
      const seen = [];
      for (const [name, bytes, expected] of cases) {
        await drop(page, name, bytes);
        try {
          await page.waitForFunction((e) => (document.documentElement.dataset.message ?? '').includes(e), expected,
            { timeout: 60_000 });
        } catch {
          const shown = await page.evaluate(() => document.documentElement.dataset.message);
          assert.fail(`${name}: expected a message with ${JSON.stringify(expected)}, the page says ${JSON.stringify(shown)}`);
        }
        seen.push(await page.evaluate(() => document.documentElement.dataset.message));
        assert.equal(await page.evaluate(() => document.documentElement.dataset.messageKind), 'error',
          `${name}: a refused file is shown as an error`);
        if (name === 'bomb.png') {
          await writeFile(join(artifacts, 'bad-input-message.png'), await page.screenshot());
        }
      }
      // The page is still usable: a good photo runs.
      const before = await page.evaluate(() => document.documentElement.dataset.runId);
      await drop(page, 'chelsea.png', chelsea);
      await page.waitForFunction((b) => {
        const d = document.documentElement.dataset;
        return d.runId !== undefined && d.runId !== b && d.message === undefined;
      }, before, { timeout: 300_000 });
      await writeFile(join(artifacts, 'bad-input.json'), JSON.stringify({ seen, consoleErrors }, null, 2));
      assert.deepEqual(consoleErrors, [], 'no console errors');
    } finally {
      await context.close();
    }
  });
