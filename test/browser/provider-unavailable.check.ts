// Runs (in Node) only when vitest.config.ts could not load the Playwright provider, so that
// the browser tests fail loudly instead of silently not running.
import { it } from 'vitest';

it('the browser test provider (@vitest/browser-playwright) loads', () => {
  throw new Error(
    `the browser tests could not start: importing @vitest/browser-playwright failed: ${process.env.BROWSER_PROVIDER_ERROR}. ` +
      'If the message is "Cannot find package \'vite\'", vite must be installed at the top of node_modules ' +
      '(a devDependency "vite" next to vitest), then `npm install`.',
  );
});
