// Build of the Word add-in (web/addin, docs/addin.md): its task pane into web/dist/addin/ next to the web app (run
// after the app's build, which empties dist/), served by `c11 serve` at /addin/. `--mode harness` builds the test
// page (FakeWord over a real .docx) into web/dist-addin-harness/ for tests/web/test_addin*.py; it is never served.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";
import preact from "@preact/preset-vite";

const at = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig(({ mode }) => {
  const harness = mode === "harness";
  return {
    root: at("./addin"),
    base: harness ? "/" : "/addin/",
    plugins: [preact()],
    build: {
      outDir: at(harness ? "./dist-addin-harness" : "./dist/addin"),
      emptyOutDir: true,
      assetsInlineLimit: 0,
      sourcemap: false,
      target: "es2022",
      rollupOptions: { input: { taskpane: at("./addin/taskpane.html"), login: at("./addin/login.html"), ...(harness ? { harness: at("./addin/harness.html") } : {}) } },
    },
  };
});
