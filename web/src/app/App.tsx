import { lazy, Suspense } from "react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { BrowserRouter, Navigate, Route, Routes } from "react-router-dom";
import { Loading } from "../components/States";
import { ApiError } from "../lib/api";
import { AcceptInvitation } from "../features/auth/AcceptInvitation";
import { Register } from "../features/auth/Register";
import { SessionKeeper } from "../features/auth/SessionKeeper";
import { SignIn } from "../features/auth/SignIn";
import { Guard } from "./guards";
import { Layout } from "./Layout";
import { NAV } from "./nav";

// Each page is its own chunk: the first load carries only the shell and the sign-in.
const Dashboard = lazy(() => import("../features/dashboard/Dashboard"));
const UsageExplorer = lazy(() => import("../features/usage/UsageExplorer"));
const Billing = lazy(() => import("../features/billing/Billing"));
const Developers = lazy(() => import("../features/developers/Developers"));
const Settings = lazy(() => import("../features/settings/Settings"));
const Operator = lazy(() => import("../features/operator/Operator"));
const OperatorTenants = lazy(() => import("../features/operator/Tenants"));
const InvoiceRuns = lazy(() => import("../features/operator/InvoiceRuns"));
const Pipeline = lazy(() => import("../features/operator/Pipeline"));

const PAGES = [Dashboard, UsageExplorer, Billing, Developers, Settings, Operator, OperatorTenants, InvoiceRuns, Pipeline];

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
              const Page = PAGES[index];
              return (
                <Route key={item.to} path={item.to} element={
                  <Guard item={item}><Suspense fallback={<Loading what="the page" />}><Page /></Suspense></Guard>
                } />
              );
            })}
          </Route>
          <Route path="*" element={<Navigate to="/" replace />} />
        </Routes>
      </BrowserRouter>
    </QueryClientProvider>
  );
}
