import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// The admin API serves dist/ at `/` (api/web_app.py); `npm run dev` proxies the API to a
// running stack (METERLINE_API_URL, default the embedded stack's address).
const api = process.env.METERLINE_API_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  build: {
    target: "es2022",
    sourcemap: false,
    // Charts are the heaviest dependency: their own chunk, loaded by the pages that draw.
    rollupOptions: {
      output: {
        manualChunks(id: string) {
          if (id.includes("node_modules/recharts") || id.includes("node_modules/d3-") ||
              id.includes("node_modules/victory-vendor")) return "charts";
          return undefined;
        },
      },
    },
  },
  server: { proxy: { "/v1": api, "/app-config.json": api } },
  test: { environment: "node", include: ["src/**/*.test.ts"] },
});
