import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The editor is served by the Python package under /editor/; the build lands inside the package
// so a machine without Node runs it. WEFT_UI_OUT lets `make ui-check` build elsewhere and diff.
export default defineConfig({
  base: "/editor/",
  plugins: [react()],
  build: {
    outDir: process.env.WEFT_UI_OUT ?? "../src/weft/web/dist",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    chunkSizeWarningLimit: 2000,
    rollupOptions: { output: { manualChunks: undefined } },
  },
  test: { environment: "node", include: ["src/**/*.test.ts"] },
} as never);
