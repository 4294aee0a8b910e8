/** Mount the app: data fetching, translations and the router around the screens. */
import "./styles/app.css";
import "./i18n";

import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { RouterProvider } from "react-router";

import { ApiError } from "./api/http";
import { createRouter } from "./app/routes";

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // A refusal will not change on its own; a network blip or an overloaded server may.
      retry: (failures, error) =>
        failures < 3 && !(error instanceof ApiError && !error.busy && error.status < 500),
      refetchOnWindowFocus: false,
    },
  },
});

const root = document.getElementById("root");
if (!root) throw new Error("index.html has no #root");
createRoot(root).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={createRouter()} />
    </QueryClientProvider>
  </StrictMode>,
);
