// Routes, behind sign-in. A signed-out visitor sees the sign-in page at the address they asked for
// (/alerts/42 from a notification), and that page once signed in.
import { Route, Routes } from "react-router";
import { useMe } from "./api/queries";
import { SignIn } from "./auth/SignIn";
import { Layout } from "./components/Layout";
import { RequireLink } from "./components/RequireLink";
import { Loading, LoadError } from "./components/QueryState";
import { LiveEvents } from "./live/LiveEvents";
import { AlertDetail } from "./pages/AlertDetail";
import { AuditLog } from "./pages/AuditLog";
import { Alerts } from "./pages/Alerts";
import { Devices } from "./pages/Devices";
import { LiveFeed } from "./pages/LiveFeed";
import { Notifications } from "./pages/Notifications";
import { Overview } from "./pages/Overview";
import { Tokens } from "./pages/Tokens";
import { Users } from "./pages/Users";
import { Settings } from "./pages/Settings";

export function App() {
  const me = useMe();
  if (me.isPending) return <Loading />;
  if (me.error) return <LoadError error={me.error} retry={() => void me.refetch()} />;
  if (me.data === null) return <SignIn />;
  return (
    <LiveEvents>
      <Layout me={me.data}>
        <Routes>
          <Route path="/" element={<Overview />} />
          <Route path="/feed" element={<LiveFeed />} />
          <Route path="/alerts" element={<Alerts />} />
          <Route path="/alerts/:id" element={<AlertDetail />} />
          <Route path="/devices" element={<Devices />} />
          <Route path="/settings" element={<Settings />} />
          <Route path="/notifications" element={<Notifications />} />
          <Route path="/tokens" element={<Tokens />} />
          <Route path="/users" element={<RequireLink rel="users"><Users /></RequireLink>} />
          <Route path="/audit" element={<RequireLink rel="audit"><AuditLog /></RequireLink>} />
          <Route path="*" element={<Overview />} />
        </Routes>
      </Layout>
    </LiveEvents>
  );
}
