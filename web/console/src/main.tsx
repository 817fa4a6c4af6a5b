import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { clearSession, refresh, session, logout, request } from "./api";
import { graphql } from "./gql";
import type { MeQuery } from "./gql/graphql";
import { SignIn } from "./pages/SignIn";
import { Documents } from "./pages/Documents";
import { Ask } from "./pages/Ask";
import { Agent } from "./pages/Agent";
import { Account } from "./pages/Account";
import { Admin } from "./pages/Admin";
import "./style.css";

const Me = graphql(`query Me { me { id username email role permissions } }`);
export type Me = MeQuery["me"];

const PAGES = [
  { path: "documents", label: "Documents" },
  { path: "ask", label: "Ask" },
  { path: "agent", label: "Agent" },
  { path: "account", label: "Account" },
  { path: "admin", label: "Admin", admin: true },
] as const;

function route() {
  return location.hash.replace(/^#\/?/, "").split("?")[0] || "documents";
}

function App() {
  const [page, setPage] = useState(route());
  const [me, setMe] = useState<Me | null>(null);
  const [ready, setReady] = useState(false);

  useEffect(() => {
    const onHash = () => setPage(route());
    window.addEventListener("hashchange", onHash);
    const off = session.onChange((signedIn) => {
      if (signedIn) request(Me).then((d) => setMe(d.me)).catch(() => clearSession());
      else setMe(null);
    });
    // A reload keeps the refresh token (sessionStorage): trade it for a fresh access token.
    refresh().finally(() => setReady(true));
    return () => { window.removeEventListener("hashchange", onHash); off(); };
  }, []);

  useEffect(() => {
    document.title = `${PAGES.find((p) => p.path === page)?.label ?? "Sign in"} · AgentHub`;
  }, [page]);

  if (!ready || (session.signedIn && !me)) return <p class="muted" role="status">Loading…</p>;
  if (!session.signedIn || !me) return <SignIn />;

  const admin = me.permissions.includes("MANAGE_USERS") || me.permissions.includes("READ_SYSTEM");
  return (
    <>
      <header>
        <strong class="brand">AgentHub</strong>
        <nav aria-label="Main">
          {PAGES.filter((p) => !("admin" in p) || admin).map((p) => (
            <a href={`#/${p.path}`} aria-current={page === p.path ? "page" : undefined}>{p.label}</a>
          ))}
        </nav>
        <span class="who" aria-label="Signed in as">{me.username} ({me.role.toLowerCase()})</span>
        <button type="button" onClick={() => void logout()}>Sign out</button>
      </header>
      <main>
        {page === "documents" && <Documents />}
        {page === "ask" && <Ask />}
        {page === "agent" && <Agent />}
        {page === "account" && <Account />}
        {page === "admin" && (admin ? <Admin me={me} /> : <p role="alert">Administrators only.</p>)}
        {!PAGES.some((p) => p.path === page) && <p>No such page. <a href="#/documents">Documents</a></p>}
      </main>
    </>
  );
}

render(<App />, document.getElementById("app")!);
(window as any).__consoleRendered = performance.now(); // time to first render, read by the browser tests
