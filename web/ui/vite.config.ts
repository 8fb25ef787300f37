import { defineConfig } from "vite";

// The build must be reproducible: `npm ci && npm run build` gives the
// committed web/dist byte for byte (scripts/test.sh checks it). File names
// carry content hashes only; no inline script or style is emitted, since
// the page's Content-Security-Policy allows neither.
export default defineConfig({
  base: "/",
  build: {
    outDir: "../dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1024,
    rollupOptions: {
      output: {
        entryFileNames: "assets/[name]-[hash].js",
        chunkFileNames: "assets/[name]-[hash].js",
        assetFileNames: "assets/[name]-[hash][extname]",
      },
    },
  },
  test: {
    environment: "node",
  },
} as any);
