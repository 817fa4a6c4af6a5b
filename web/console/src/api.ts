// The GraphQL client: fetch for queries and mutations, graphql-ws for subscriptions, and the
// session: the access token lives in memory only; the refresh token in sessionStorage (this tab,
// survives a reload, so a running agent answer can resume) and is rotated before the access token
// expires, and again when a call fails with UNAUTHENTICATED reason "expired".
import { createClient, type Client } from "graphql-ws";
import type { TypedDocumentString } from "./gql/graphql";
import { graphql } from "./gql";

const REFRESH_KEY = "agenthub.refresh";
const ENDPOINT = "/graphql";

export class ApiError extends Error {
  constructor(message: string, readonly code: string, readonly extensions: Record<string, unknown> = {}) {
    super(message);
  }
}

/** A sentence for each error code of docs/api.md, with the server's own message where it helps. */
export function describe(error: unknown): string {
  if (!(error instanceof ApiError)) return `The request failed: ${error instanceof Error ? error.message : String(error)}`;
  const ext = error.extensions;
  switch (error.code) {
    case "UNAUTHENTICATED":
      return `Please sign in (${error.message})`;
    case "FORBIDDEN":
      return "Your role or API key does not allow this.";
    case "BAD_REQUEST":
      return `The console sent a malformed request: ${error.message}`;
    case "BAD_USER_INPUT": {
      const fields = ext.fields as Record<string, string> | undefined;
      const detail = fields ? Object.entries(fields).map(([f, rule]) => `${f}: ${rule}`).join("; ") : "";
      return `Check your input: ${detail || error.message}`;
    }
    case "NOT_FOUND":
      return "Not found (it does not exist, or you may not see it).";
    case "CONFLICT":
      return `That exists already: ${error.message}`;
    case "RATE_LIMITED":
      return `Too many requests: try again in ${ext.retryAfter ?? "a few"} s.`;
    case "SERVICE_UNAVAILABLE":
      return "A service is not reachable right now; try again shortly.";
    case "TIMEOUT":
      return "A service did not answer in time; try again.";
    case "INTERNAL":
      return `Unexpected error on the server (request id ${ext.requestId ?? "unknown"}).`;
    case "NETWORK":
      return `Cannot reach the gateway: ${error.message}`;
    default:
      return `${error.code}: ${error.message}`;
  }
}

// ---- session -------------------------------------------------------------------------------

let accessToken: string | null = null;
let refreshTimer: number | undefined;
let refreshing: Promise<boolean> | null = null;
const listeners = new Set<(signedIn: boolean) => void>();

export const session = {
  get signedIn() { return accessToken !== null; },
  get token() { return accessToken; },
  onChange(fn: (signedIn: boolean) => void) { listeners.add(fn); return () => listeners.delete(fn); },
};

const Refresh = graphql(`
  mutation Refresh($refreshToken: String!) {
    refreshToken(refreshToken: $refreshToken) { accessToken refreshToken expiresIn }
  }
`);
const Logout = graphql(`mutation Logout { logout }`);

export function setTokens(pair: { accessToken: string; refreshToken: string; expiresIn: number }) {
  const was = accessToken !== null;
  accessToken = pair.accessToken;
  sessionStorage.setItem(REFRESH_KEY, pair.refreshToken);
  window.clearTimeout(refreshTimer);
  // Rotate at 80 % of the lifetime (at least 5 s from now).
  refreshTimer = window.setTimeout(() => void refresh(), Math.max(5, pair.expiresIn * 0.8) * 1000);
  if (!was) listeners.forEach((fn) => fn(true));
}

export function clearSession() {
  accessToken = null;
  sessionStorage.removeItem(REFRESH_KEY);
  window.clearTimeout(refreshTimer);
  resetSocket();
  listeners.forEach((fn) => fn(false));
}

/** Trades the stored refresh token for a new pair; false (and signed out) when that fails. */
export function refresh(): Promise<boolean> {
  if (refreshing) return refreshing;
  const stored = sessionStorage.getItem(REFRESH_KEY);
  if (!stored) return Promise.resolve(false);
  refreshing = (async () => {
    try {
      const data = await post(Refresh, { refreshToken: stored }, null);
      setTokens(data.refreshToken);
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.code === "NETWORK") return false;
      clearSession();
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

export async function logout() {
  try { await request(Logout); } catch { /* the session ends here either way */ }
  clearSession();
}

// ---- queries and mutations ------------------------------------------------------------------

async function parse(response: Response): Promise<any> {
  let body: any;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`HTTP ${response.status}`, response.status === 429 ? "RATE_LIMITED" : "NETWORK");
  }
  if (body.errors?.length) {
    const first = body.errors[0];
    throw new ApiError(first.message, first.extensions?.code ?? "INTERNAL", first.extensions ?? {});
  }
  return body.data;
}

async function post<R, V>(doc: TypedDocumentString<R, V>, variables: V | undefined, token: string | null): Promise<R> {
  let response: Response;
  try {
    response = await fetch(ENDPOINT, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query: doc.toString(), variables }),
    });
  } catch (error) {
    throw new ApiError(String(error), "NETWORK");
  }
  return parse(response);
}

function expired(error: unknown) {
  return error instanceof ApiError && error.code === "UNAUTHENTICATED" && error.extensions.reason === "expired";
}

/** A query or mutation with the session's token; an expired token is refreshed once and retried. */
export async function request<R, V>(doc: TypedDocumentString<R, V>, variables?: V): Promise<R> {
  try {
    return await post(doc, variables, accessToken);
  } catch (error) {
    if (expired(error) && (await refresh())) return post(doc, variables, accessToken);
    if (error instanceof ApiError && error.code === "UNAUTHENTICATED" && accessToken) clearSession();
    throw error;
  }
}

export type FileResult = { filename: string; jobId: string | null; error: string | null };

/** uploadDocuments as a GraphQL multipart request with per-file upload progress (XHR reports it). */
export function upload(files: File[], collection: string | null, onProgress: (fraction: number) => void): Promise<FileResult[]> {
  const operations = {
    query: UploadDocuments.toString(),
    variables: { files: files.map(() => null), collection },
  };
  const form = new FormData();
  form.append("operations", JSON.stringify(operations));
  form.append("map", JSON.stringify(Object.fromEntries(files.map((_, i) => [String(i), [`variables.files.${i}`]]))));
  files.forEach((file, i) => form.append(String(i), file, file.name));
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", ENDPOINT);
    xhr.setRequestHeader("GraphQL-Preflight", "1"); // the gateway's CSRF guard for multipart
    if (accessToken) xhr.setRequestHeader("Authorization", `Bearer ${accessToken}`);
    xhr.upload.onprogress = (event) => event.lengthComputable && onProgress(event.loaded / event.total);
    xhr.onerror = () => reject(new ApiError("upload failed", "NETWORK"));
    xhr.onload = () => {
      let body: any;
      try { body = JSON.parse(xhr.responseText); } catch { return reject(new ApiError(`HTTP ${xhr.status}`, "NETWORK")); }
      const errors: any[] = body.errors ?? [];
      const rows: any[] | undefined = body.data?.uploadDocuments;
      if (!rows) {
        const first = errors[0] ?? { message: `HTTP ${xhr.status}` };
        return reject(new ApiError(first.message, first.extensions?.code ?? "INTERNAL", first.extensions ?? {}));
      }
      // A refused file has job: null and an error whose path is [uploadDocuments, i, job].
      resolve(rows.map((row, i) => {
        const error = errors.find((e) => Array.isArray(e.path) && e.path[1] === i);
        return {
          filename: row.filename,
          jobId: row.job?.id ?? null,
          error: error ? (error.extensions?.fields ? Object.values(error.extensions.fields).join("; ") : error.message) : null,
        };
      }));
    };
    xhr.send(form);
  });
}

export const UploadDocuments = graphql(`
  mutation UploadDocuments($files: [Upload!]!, $collection: String) {
    uploadDocuments(files: $files, collection: $collection) { filename job { id status progress } }
  }
`);

/** Fetches a protected URL (a document download) with the token and saves it. */
export async function download(url: string, filename: string) {
  const response = await fetch(url, { headers: accessToken ? { Authorization: `Bearer ${accessToken}` } : {} });
  if (!response.ok) await parse(response);
  const href = URL.createObjectURL(await response.blob());
  const a = Object.assign(document.createElement("a"), { href, download: filename });
  a.click();
  URL.revokeObjectURL(href);
}

// ---- subscriptions --------------------------------------------------------------------------

let socket: Client | null = null;

function resetSocket() {
  socket?.dispose();
  socket = null;
}

function newClient(retryAttempts: number): Client {
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${ENDPOINT}`;
  return createClient({
    url,
    lazy: true,
    retryAttempts,
    shouldRetry: () => true,
    // Browsers cannot set headers on a WebSocket: the token goes in connection_init.
    connectionParams: async () => {
      if (!accessToken) await refresh();
      return accessToken ? { Authorization: `Bearer ${accessToken}` } : {};
    },
  });
}

/** The shared socket: after a drop it reconnects and subscribes again with the same variables. */
function ws(): Client {
  socket ??= newClient(5);
  return socket;
}

/** Runs a subscription; returns a function that stops it. */
export function subscribe<R, V>(
  doc: TypedDocumentString<R, V>,
  variables: V,
  handlers: { next: (data: R) => void; error?: (error: ApiError) => void; complete?: () => void },
  options: { once?: boolean } = {},
): () => void {
  // once: a socket of its own that is never re-subscribed after a drop (agentRun would start a
  // second run); the caller resumes another way (agentRunEvents after the last seq).
  const client = options.once ? newClient(0) : ws();
  const stop = client.subscribe<R>(
    { query: doc.toString(), variables: variables as Record<string, unknown> },
    {
      next: (result) => {
        if (result.errors?.length) {
          const first = result.errors[0] as any;
          handlers.error?.(new ApiError(first.message, first.extensions?.code ?? "INTERNAL", first.extensions ?? {}));
        } else if (result.data) handlers.next(result.data as R);
      },
      error: (error: any) => {
        if (Array.isArray(error)) {
          const first = error[0];
          handlers.error?.(new ApiError(first.message, first.extensions?.code ?? "INTERNAL", first.extensions ?? {}));
        } else if (error instanceof CloseEvent) {
          handlers.error?.(new ApiError(error.reason || `socket closed (${error.code})`, error.code === 4403 ? "UNAUTHENTICATED" : "NETWORK"));
        } else handlers.error?.(new ApiError(String(error), "NETWORK"));
      },
      complete: () => handlers.complete?.(),
    },
  );
  return options.once ? () => { stop(); void client.dispose(); } : stop;
}
