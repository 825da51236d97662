import "@mantine/core/styles.css";
import "./styles.css";
import "./i18n";
import { MantineProvider } from "@mantine/core";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter } from "react-router";
import { isUnauthenticated } from "./api/client";
import { App } from "./App";
import { contrast, theme } from "./theme";

const client = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 10_000,
      // A 401 means signed out: asking again will not help; anything else gets one more try.
      retry: (failures, error) => !isUnauthenticated(error) && failures < 1,
    },
  },
});

const root = document.getElementById("root");
if (root === null) throw new Error("index.html has no #root");
createRoot(root).render(
  <StrictMode>
    <MantineProvider theme={theme} cssVariablesResolver={contrast} defaultColorScheme="light">
      <QueryClientProvider client={client}>
        <BrowserRouter>
          <App />
        </BrowserRouter>
      </QueryClientProvider>
    </MantineProvider>
  </StrictMode>,
);
