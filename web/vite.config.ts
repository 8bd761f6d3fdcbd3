// Build of the c11 browser app: web/dist, served by `c11 serve` at / (docs/web.md).
import { defineConfig } from "vite";
import preact from "@preact/preset-vite";

export default defineConfig({
  plugins: [preact()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // Nothing becomes a data: URL or an inline script: the server's CSP allows only 'self'.
    assetsInlineLimit: 0,
    sourcemap: false,
    target: "es2022",
    // The download service worker (src/worker/download.sw.ts, docs/web.md "Large files") is a second entry with a
    // fixed name, assets/c11-sw.js: its scope must stay stable across builds (/assets/c11-download/).
    rollupOptions: {
      input: { index: "index.html", "c11-sw": "src/worker/download.sw.ts" },
      output: { entryFileNames: (chunk) => (chunk.name === "c11-sw" ? "assets/c11-sw.js" : "assets/[name]-[hash].js") },
    },
  },
  server: {
    // `npm run dev`: the API of a local `c11 serve` behind Vite's dev server.
    proxy: { "/api": "http://127.0.0.1:8000" },
  },
});
