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
  },
  server: {
    // `npm run dev`: the API of a local `c11 serve` behind Vite's dev server.
    proxy: { "/api": "http://127.0.0.1:8000" },
  },
});
