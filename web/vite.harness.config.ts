// Build of the test harness page (web/harness.html → web/dist-harness/): runs tests/vectors/ inside Chromium
// and exposes the crypto worker to tests/web/test_core_*.py. Not served by `c11 serve`.
import { defineConfig } from "vite";

export default defineConfig({
  build: {
    outDir: "dist-harness",
    emptyOutDir: true,
    assetsInlineLimit: 0,
    sourcemap: false,
    target: "es2022",
    rollupOptions: { input: "harness.html" },
  },
  worker: { format: "es" },
});
