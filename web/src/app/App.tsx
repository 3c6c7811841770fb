import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { BrowserRouter, Navigate, Route, Routes } from "react-router-dom";
import { ApiError } from "../lib/api";
import { AcceptInvitation } from "../features/auth/AcceptInvitation";
import { Register } from "../features/auth/Register";
import { SessionKeeper } from "../features/auth/SessionKeeper";
import { SignIn } from "../features/auth/SignIn";
import { Guard } from "./guards";
import { Layout } from "./Layout";
import { allowed, NAV } from "./nav";
import { prefetchConsole, prefetchPipeline } from "../features/operator/api";
import { getSession } from "../lib/session";
import { pageChunk } from "./pageChunk";

// In NAV's order; each page its own chunk (pageChunk.tsx).
const PAGES = [
  pageChunk(() => import("../features/dashboard/Dashboard")),
  pageChunk(() => import("../features/usage/UsageExplorer")),
  pageChunk(() => import("../features/billing/Billing")),
  pageChunk(() => import("../features/developers/Developers")),
  pageChunk(() => import("../features/settings/Settings")),
  pageChunk(() => import("../features/operator/Operator"), prefetchConsole),
  pageChunk(() => import("../features/operator/Tenants")),
  pageChunk(() => import("../features/operator/InvoiceRuns")),
  pageChunk(() => import("../features/operator/Pipeline"), prefetchPipeline),
];

const queries = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 15_000,
      // A refusal or a bad request will not change on retry; an unreachable service may.
      retry: (count, error) => count < 2 && !(error instanceof ApiError && error.status < 500),
      refetchOnWindowFocus: false,
    },
  },
});

// The page asked for starts loading now, while React renders the shell (a failure shows on
// the page itself when it renders), and its queries too when this session may see it: a
// refused request would end the session.
const asked = NAV.findIndex((item) => item.to === globalThis.location?.pathname);
if (asked >= 0) {
  PAGES[asked].load().catch(() => undefined);
  if (allowed(NAV[asked], getSession())) PAGES[asked].prefetch?.(queries);
}

export function App() {
  return (
    <QueryClientProvider client={queries}>
      <BrowserRouter>
        <SessionKeeper />
        <Routes>
          <Route path="/sign-in" element={<SignIn />} />
          <Route path="/register" element={<Register />} />
          <Route path="/accept-invitation" element={<AcceptInvitation />} />
          <Route element={<Layout />}>
            {NAV.map((item, index) => {
              const { Page } = PAGES[index];
              return <Route key={item.to} path={item.to} element={<Guard item={item}><Page /></Guard>} />;
            })}
          </Route>
          <Route path="*" element={<Navigate to="/" replace />} />
        </Routes>
      </BrowserRouter>
    </QueryClientProvider>
  );
}
