import { defineConfig } from 'vite';

// The dashboard is a static bundle served by `docket serve` from web/dist. `base: './'` makes every
// asset path relative, so the same build works at `/` and under `--base-path /x` behind a proxy.
export default defineConfig({
  root: import.meta.dirname,
  base: './',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // One small bundle: no inline scripts (CSP), no module-preload polyfill injected into the page.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: true,
  },
});
