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
    // No manual chunks: each page is a lazy import (src/app/App.tsx), so recharts lands in a
    // chunk only the charting pages load. (A manual "charts" chunk pulled React in with it,
    // and with React the whole of recharts into the first load.)
  },
  server: { proxy: { "/v1": api, "/app-config.json": api } },
  test: { environment: "node", include: ["src/**/*.test.ts"] },
});
