/// <reference types="vitest/config" />
// The console's build (`npm run build` → dist/, served by the API at `/`) and its unit tests.
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// `npm run dev` serves the console with hot reload and hands /api to an API on :8000
// (`maskwatch up`), so the session cookie and Origin stay same-origin as in production.
const api = process.env.MASKWATCH_API_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: { "/api": { target: api, changeOrigin: false } },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
  },
  test: {
    environment: "jsdom",
    include: ["tests/**/*.test.{ts,tsx}"],
    setupFiles: ["tests/setup.ts"],
  },
});
