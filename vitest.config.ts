import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';
import { demoCommands } from './test/browser/demo-commands.js';
import { CHROMIUM_ARGS, chromiumPath } from './test/support/harness.js';

/**
 * The SDK in headless Chromium (Debian's chromium, never a downloaded one), on the main
 * thread and in the worker, plus the demo page end to end. Needs `npm run build` (the demo
 * page uses dist/browser/). If the Playwright provider cannot be loaded, the 'browser'
 * project becomes one failing check that says why, and the 'node' project still runs.
 */
async function browserProject(): Promise<TestProjectInlineConfiguration> {
  let playwright: typeof import('@vitest/browser-playwright').playwright;
  try {
    ({ playwright } = await import('@vitest/browser-playwright'));
  } catch (e) {
    process.env.BROWSER_PROVIDER_ERROR = (e as Error)?.message ?? String(e);
    return {
      test: {
        name: 'browser',
        environment: 'node',
        include: ['test/browser/provider-unavailable.check.ts'],
      },
    };
  }
  return {
    optimizeDeps: { include: ['comlink'] },
    test: {
      name: 'browser',
      include: ['test/browser/**/*.test.ts'],
      testTimeout: 180_000,
      hookTimeout: 120_000,
      attachmentsDir: 'test-output/vitest-attachments',
      browser: {
        enabled: true,
        headless: true,
        provider: playwright({
          launchOptions: {
            executablePath: chromiumPath(),
            args: CHROMIUM_ARGS,
          },
        }),
        instances: [{ browser: 'chromium' }],
        // Failure screenshots go to the gitignored test-output/, not beside the tests.
        screenshotDirectory: 'test-output/browser-failures',
        commands: demoCommands,
      },
    },
  };
}

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          environment: 'node',
          include: ['test/**/*.test.ts'],
          exclude: ['test/browser/**'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      await browserProject(),
    ],
  },
});
