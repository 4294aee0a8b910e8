/// <reference types="vitest/config" />
// Vite builds the app into dist/, which the gateway serves; `npm run dev` proxies the API and
// the conversation socket to a running `make up` so the client can be worked on live.
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const gateway = process.env.VOICEASSIST_GATEWAY ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    sourcemap: true,
    // The gateway's Content-Security-Policy allows only same-origin scripts: no inline
    // polyfill, no data: URL modules.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
  server: {
    proxy: {
      "/api": gateway,
      "/auth": gateway,
      "/realms": gateway,
      "/ws": { target: gateway.replace(/^http/, "ws"), ws: true },
    },
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["src/test/setup.ts"],
    css: false,
  },
});
