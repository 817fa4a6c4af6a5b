import { defineConfig } from "vite";
import preact from "@preact/preset-vite";

// Built into the Python package: the gateway serves gateway/static/console at /.
export default defineConfig({
  plugins: [preact()],
  base: "/",
  build: {
    outDir: "../../gateway/static/console",
    emptyOutDir: true,
    target: "es2020",
    reportCompressedSize: true,
    assetsInlineLimit: 0,
  },
  server: { proxy: { "/graphql": { target: "http://127.0.0.1:8000", ws: true }, "/rag": "http://127.0.0.1:8000" } },
});
