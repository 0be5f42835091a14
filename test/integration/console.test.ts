/**
 * The operator console in headless Chromium (Debian's package, driven by puppeteer-core):
 * sign in, every queue on the overview, a job submitted over the API reaching COMPLETED in the
 * activity feed and the jobs list without a reload, its drawer, a dead job retried from the
 * DLQ page and run, a queue scaled, a viewer without action buttons, and no console errors.
 * Screenshots of every page go to .local/screenshots/.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { api, invokeFunction, keyOf, placeOrder } from '../helpers/factory-client.ts';

const chromium = [
  process.env.CHROMIUM_PATH,
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
]
  .filter((p): p is string => Boolean(p))
  .find((p) => existsSync(p));
if (!chromium)
  console.warn(
    'console.test.ts: no Chromium found (apt-get install chromium, or set CHROMIUM_PATH); skipped',
  );

/** What the functions run in the page see (the test's own types know no DOM). */
interface InPage {
  readonly document: {
    querySelector(selector: string): { textContent: string | null } | null;
    querySelectorAll(
      selector: string,
    ): ArrayLike<{ textContent: string | null; querySelector(selector: string): unknown }>;
  };
  readonly location: { hash: string };
}

const screenshots = '.local/screenshots';
const problems: string[] = [];
let browser: Browser;

/** A page that records every console error and uncaught exception into `problems`. */
async function openPage(width = 1280, height = 800): Promise<Page> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.setViewport({ width, height });
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`${page.url()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`${page.url()}: ${(error as Error).message}`));
  return page;
}

/** Signs in with the keyboard only: the "API key" field, typed, Enter. */
async function signIn(page: Page, role: 'admin' | 'viewer') {
  await page.goto(`${inject('apiUrl')}/console/`);
  const field = await page.waitForSelector('::-p-aria(API key)');
  await field?.focus();
  await page.keyboard.type(keyOf(role));
  await page.keyboard.press('Enter');
  await page.waitForSelector('[data-live="live"]', { timeout: 30_000 });
}

const go = async (page: Page, hash: string) => {
  await page.evaluate((h) => {
    (globalThis as unknown as InPage).location.hash = h;
  }, hash);
  await page.waitForFunction((h) => (globalThis as unknown as InPage).location.hash === h, {}, hash);
};

const shoot = (page: Page, name: string) => page.screenshot({ path: `${screenshots}/${name}.png` });

async function submit(job: Record<string, unknown>): Promise<string> {
  const answer = await api('POST', '/jobs', job);
  expect(answer.status, JSON.stringify(answer.body)).toBe(202);
  return answer.body.jobId as string;
}

const email = (subject: string) => ({
  queue: 'default',
  type: 'send_email',
  payload: { to: 'console@example.com', subject, body: 'from the browser test' },
});

/** Words on the action buttons: a viewer must see none of them. */
const actionWords =
  /^(Retry|Cancel|Scale|Autoscale|Pause|Resume|Delete|Create|Schedule window|Cancel window|Select|Disable|Enable)/;

describe.runIf(chromium && inject('backend') === 'embedded')('the console in a browser', () => {
  beforeAll(async () => {
    await mkdir(screenshots, { recursive: true });
    browser = await puppeteer.launch({
      executablePath: chromium,
      headless: true,
      args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('is served at /console/ and refuses a wrong key with a message, not a console error', async () => {
    const page = await openPage();
    await page.goto(`${inject('apiUrl')}/console/`);
    await page.waitForSelector('::-p-aria(API key)');
    await page.type('::-p-aria(API key)', 'rfk_not_a_key');
    await page.click('::-p-aria([name="Sign in"][role="button"])');
    const alert = await page.waitForSelector('[role="alert"]');
    expect(await alert?.evaluate((e) => e.textContent)).toMatch(/does not know that key/);
    await shoot(page, 'sign-in');
    // The refused key's 401 is the browser's own network line, not an error of the console.
    for (let i = problems.length - 1; i >= 0; i--)
      if (/status of 401/.test(problems[i] ?? '')) problems.splice(i, 1);
    await page.close();
  }, 60_000);

  it('signs in, shows every queue, and a submitted job reaches COMPLETED in the feed and the jobs list without a reload', async () => {
    const page = await openPage();
    await signIn(page, 'admin');
    const queues = (await api('GET', '/queues')).body as { name: string }[];
    for (const queue of queues) await page.waitForSelector(`tr[data-queue="${queue.name}"]`);
    const first = await submit(email('feed'));
    await page.waitForSelector(`li[data-type="job.completed"][data-job="${first}"]`, { timeout: 60_000 });
    await shoot(page, 'overview');
    await page.setViewport({ width: 390, height: 844 });
    await shoot(page, 'overview-phone');
    await page.setViewport({ width: 1280, height: 800 });

    // The same page, no reload: the jobs list follows the next job to COMPLETED.
    const marker = await page.evaluate(() => {
      (globalThis as unknown as { marker: number }).marker = 42;
      return 42;
    });
    // Narrowed to the type: files running beside this one (the chaos run) submit hundreds of jobs
    // to the default queue, and the newest 50 of all types need not hold this one.
    await go(page, '#/jobs?queue=default&type=send_email');
    const second = await submit(email('list'));
    await page.waitForSelector(`tr[data-job="${second}"][data-status="COMPLETED"]`, { timeout: 60_000 });
    expect(await page.evaluate(() => (globalThis as unknown as { marker: number }).marker)).toBe(marker);
    await shoot(page, 'jobs');

    // Its drawer: state, payload, timeline and the attempt's log.
    await page.click(`tr[data-job="${second}"] button`);
    const status = await page.waitForSelector('[data-testid="drawer-status"]');
    expect(await status?.evaluate((e) => e.textContent)).toBe('COMPLETED');
    const drawer = await page.waitForSelector('[role="dialog"] ::-p-text(Attempt 1)');
    expect(drawer).toBeTruthy();
    const text = await page.$eval('[role="dialog"]', (e) => e.textContent ?? '');
    expect(text).toContain('console@example.com');
    expect(text).toMatch(/submitted .*started .*completed/s);
    await shoot(page, 'job-drawer');
    await page.keyboard.press('Escape');
    await page.waitForSelector('[role="dialog"]', { hidden: true });
    await page.close();
  }, 180_000);

  it('retries a dead job from the dead-letter page and shows it run to COMPLETED', async () => {
    // A webhook that fails once: the job dies (one attempt), then succeeds when retried.
    let calls = 0;
    const hook: Server = createServer((_request, response) => {
      calls++;
      response.writeHead(calls === 1 ? 500 : 200).end('{}');
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    try {
      const port = (hook.address() as AddressInfo).port;
      const page = await openPage();
      await signIn(page, 'admin');
      await go(page, '#/dead-letters');
      const jobId = await submit({
        queue: 'default',
        type: 'webhook_call',
        payload: { url: `http://127.0.0.1:${port}/hook` },
        maxAttempts: 1,
      });
      const row = `tr[data-job="${jobId}"]`;
      await page.waitForSelector(row, { timeout: 60_000 });
      await shoot(page, 'dead-letters');
      await page.click(`${row} input[type="checkbox"]`);
      await page.click('::-p-text(Retry selected)');
      await page.waitForSelector(row, { hidden: true, timeout: 30_000 });
      await go(page, '#/jobs?queue=default&type=webhook_call');
      await page.waitForSelector(`tr[data-job="${jobId}"][data-status="COMPLETED"]`, { timeout: 60_000 });
      expect(calls).toBe(2);
      await page.close();
    } finally {
      hook.close();
    }
  }, 180_000);

  it('scales a queue up and shows the new concurrency', async () => {
    const page = await openPage();
    await signIn(page, 'admin');
    await go(page, '#/workers?queue=media');
    const label = await page.waitForSelector('section[data-queue="media"] [data-testid="concurrency"]');
    const before = Number((await label?.evaluate((e) => e.textContent))?.match(/\d+/)?.[0]);
    expect(before).toBeGreaterThan(0);
    try {
      await page.click('::-p-aria(Scale media up)');
      await page.waitForFunction(
        (expected) =>
          (globalThis as unknown as InPage).document.querySelector(
            'section[data-queue="media"] [data-testid="concurrency"]',
          )?.textContent === `concurrency ${expected}`,
        { timeout: 30_000 },
        before + 1,
      );
      await page.waitForSelector('::-p-text(from the console)');
      await shoot(page, 'workers');
    } finally {
      // Back to the autoscaler. Not reports: operations.test.ts scales it, one test after another.
      await api('POST', '/workers/scale', { queue: 'media', mode: 'auto' });
    }
    await page.close();
  }, 120_000);

  it('draws every page: an order graph, the timeline, metrics, schedules', async () => {
    const { orderId } = await placeOrder('courier');
    const page = await openPage();
    await signIn(page, 'admin');
    await go(page, `#/orders?order=${orderId}`);
    await page.waitForSelector(`[data-order="${orderId}"] svg.dag g[data-status]`);
    // Live: the graph follows the order to its end.
    await page.waitForFunction(
      (id) =>
        (globalThis as unknown as InPage).document
          .querySelector(`[data-order="${id}"]`)
          ?.textContent?.includes('COMPLETED · 100%'),
      { timeout: 90_000 },
      orderId,
    );
    await shoot(page, 'orders');
    for (const [name, title] of [
      ['timeline', 'Timeline'],
      ['metrics', 'Metrics'],
      ['schedules', 'Schedules'],
    ] as const) {
      await go(page, `#/${name}`);
      await page.waitForFunction(
        (t) => (globalThis as unknown as InPage).document.querySelector('#page-title')?.textContent === t,
        {},
        title,
      );
      if (name !== 'schedules') await page.waitForSelector('.chart svg');
      // Charts draw after their data arrives.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await shoot(page, name);
    }
    await page.waitForSelector('::-p-text(Maintenance windows)');
    await page.close();
  }, 180_000);

  it('shows a firing alert, live, and resolves it when an admin disables its rule', async () => {
    // A rule that always holds: the reports queue's throughput is never below zero.
    const created = await api('POST', '/alerts/rules', {
      name: 'console always',
      condition: { metric: 'throughput', queue: 'reports', op: '>', threshold: -1 },
    });
    expect(created.status).toBe(201);
    const { ruleId } = created.body;
    const page = await openPage();
    try {
      await signIn(page, 'admin');
      await go(page, '#/alerts');
      await page.waitForSelector(`tr[data-rule="${ruleId}"]`);
      await invokeFunction('AlertEvaluator');
      // The alert.fired event brings it onto the page without a reload (other alerts, such as
      // the anomaly watch's, may be firing beside it).
      await page.waitForFunction(
        () =>
          Array.from((globalThis as unknown as InPage).document.querySelectorAll('tr[data-alert]')).some(
            (r) => (r.textContent ?? '').includes('console always') && r.querySelector('td.red') !== null,
          ),
        { timeout: 30_000 },
      );
      await page.click(`tr[data-rule="${ruleId}"] ::-p-text(Disable)`);
      await page.waitForSelector('::-p-text(console always: disabled)');
      await page.waitForSelector(`tr[data-rule="${ruleId}"] ::-p-text(disabled)`);
      await page.waitForFunction(
        () =>
          Array.from((globalThis as unknown as InPage).document.querySelectorAll('tr[data-alert]')).some(
            (r) =>
              (r.textContent ?? '').includes('console always') &&
              (r.textContent ?? '').includes('rule changed'),
          ),
        { timeout: 30_000 },
      );
      await shoot(page, 'alerts');
    } finally {
      await page.close();
      await api('DELETE', `/alerts/rules/${ruleId}`);
    }
  }, 120_000);

  it('offers a viewer no action buttons', async () => {
    const dead = await submit({
      queue: 'default',
      type: 'fail_sometimes',
      payload: { probability: 1 },
      maxAttempts: 1,
    });
    const page = await openPage();
    await signIn(page, 'viewer');
    expect(await page.$eval('[data-role]', (e) => e.getAttribute('data-role'))).toBe('viewer');
    const visible = async () =>
      page.$$eval('button, a.button', (all) => all.map((b) => (b.textContent ?? '').trim()));
    for (const hash of [
      '#/overview',
      '#/jobs',
      '#/workers',
      '#/dead-letters',
      '#/schedules',
      '#/orders',
      '#/alerts',
    ]) {
      await go(page, hash);
      await page.waitForSelector('h1#page-title');
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const offered = (await visible()).filter((text) => actionWords.test(text));
      expect(offered, hash).toEqual([]);
    }
    await go(page, '#/dead-letters');
    await page.waitForSelector(`tr[data-job="${dead}"]`, { timeout: 60_000 });
    await page.click(`tr[data-job="${dead}"] button`);
    await page.waitForSelector('[data-testid="drawer-status"]');
    expect((await visible()).filter((text) => actionWords.test(text))).toEqual([]);
    await page.close();
  }, 180_000);

  it('logged no console error on any page', () => {
    expect(problems).toEqual([]);
  });
});
