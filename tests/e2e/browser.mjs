// Launching Debian's Chromium with the flags TOOLCHAIN.md found to work here, and loading the app.
import { chromium } from 'playwright-core';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BASE_FLAGS = [
  '--headless', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--enable-unsafe-swiftshader',
];

/** Software WebGPU that eframe can also render through (SwiftShader Vulkan). */
export const WEBGPU_FLAGS = [
  '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-angle=swiftshader',
];

/** No WebGPU: requestAdapter() resolves to null, eframe draws with WebGL2. */
export const NO_WEBGPU_FLAGS = ['--disable-features=WebGPU'];

export async function launch(extraFlags) {
  const userDataDir = await mkdtemp(join(tmpdir(), 'convscope-chromium-'));
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CONVSCOPE_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [...BASE_FLAGS, ...extraFlags],
    viewport: { width: 1280, height: 800 },
  });
}

/**
 * Open `url`, record console errors and every request, and wait until the app has chosen a backend
 * and drawn a few frames. Returns the page and what was recorded.
 */
export async function openApp(context, url) {
  const page = await context.newPage();
  const consoleErrors = [];
  const requests = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(msg.text());
  });
  page.on('pageerror', (err) => consoleErrors.push(`uncaught: ${err.message}`));
  page.on('request', (req) => requests.push(req.url()));
  await page.goto(url);
  await page.waitForFunction(() => document.documentElement.dataset.backend !== undefined, null, {
    timeout: 180_000,
  });
  // Let eframe present a few frames after the backend is known.
  await page.evaluate(() => new Promise((resolve) => {
    let frames = 0;
    const tick = () => (++frames >= 10 ? resolve() : requestAnimationFrame(tick));
    requestAnimationFrame(tick);
  }));
  await page.waitForTimeout(500);
  return { page, consoleErrors, requests };
}

/** Count distinct colours and the share of the most common one, decoding the PNG in a blank page. */
export async function pixelStats(context, png) {
  const page = await context.newPage();
  try {
    return await page.evaluate(async (b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
      const ctx = canvas.getContext('2d');
      ctx.drawImage(bitmap, 0, 0);
      const { data } = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
      const counts = new Map();
      for (let i = 0; i < data.length; i += 4) {
        const key = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      const pixels = data.length / 4;
      return { pixels, distinctColors: counts.size, dominantShare: Math.max(...counts.values()) / pixels };
    }, png.toString('base64'));
  } finally {
    await page.close();
  }
}
