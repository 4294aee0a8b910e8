/**
 * One way to call the gateway: same-origin fetch with the session cookie, the CSRF token on
 * every change, and RFC 9457 problem+json turned into an `ApiError` a screen can show.
 *
 * The CSRF token comes from `GET /auth/session` (ADR 0007); `setCsrfToken` keeps it here so
 * that no component has to pass it around.
 */

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  /** A 422's fields at fault (the gateway names them `location`/`message`). */
  errors?: { location?: (string | number)[]; message?: string; loc?: (string | number)[]; msg?: string }[];
}

/** A refused or failed call, with what the server said and whether retrying later may work. */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;
  readonly retryAfterSeconds: number | null;

  constructor(status: number, problem: Problem, retryAfterSeconds: number | null) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  /** The server is overloaded or briefly unavailable: the same request may work later. */
  get busy(): boolean {
    return this.status === 429 || this.status === 503;
  }

  /** Field-by-field messages of a 422, keyed by the field's name. */
  fieldErrors(): Record<string, string> {
    const fields: Record<string, string> = {};
    for (const error of this.problem.errors ?? []) {
      const location = error.location ?? error.loc;
      const name = location?.[location.length - 1];
      const message = error.message ?? error.msg;
      if (name !== undefined && message) fields[String(name)] = message;
    }
    return fields;
  }
}

/** The network itself failed (offline, gateway down): nothing was answered. */
export class NetworkError extends Error {
  constructor() {
    super("network");
    this.name = "NetworkError";
  }
}

let csrfToken: string | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

export function csrf(): string | null {
  return csrfToken;
}

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined | null>;
  signal?: AbortSignal;
  /** Accept a non-JSON answer (an .ics file) and return its text. */
  text?: boolean;
  /** Extra request headers (e.g. the Idempotency-Key the scheduling API requires on changes). */
  headers?: Record<string, string>;
}

function withQuery(path: string, query: RequestOptions["query"]): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/** Call the gateway and return the parsed JSON (or text), raising ApiError on a refusal. */
export async function request<T>(
  method: Method,
  path: string,
  options: RequestOptions = {},
): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (options.text) headers.Accept = "text/calendar, text/plain, */*";
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  Object.assign(headers, options.headers);
  let response: Response;
  try {
    response = await fetch(withQuery(path, options.query), {
      method,
      headers,
      credentials: "same-origin",
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new NetworkError();
  }
  if (!response.ok) {
    let problem: Problem = { status: response.status };
    try {
      problem = { ...problem, ...((await response.json()) as Problem) };
    } catch {
      // Not JSON (a proxy's error page): the status alone says enough.
    }
    const retry = Number(response.headers.get("Retry-After"));
    throw new ApiError(response.status, problem, Number.isFinite(retry) && retry > 0 ? retry : null);
  }
  if (response.status === 204) return undefined as T;
  if (options.text) return (await response.text()) as T;
  return (await response.json()) as T;
}

export const api = {
  get: <T>(path: string, options?: RequestOptions) => request<T>("GET", path, options),
  post: <T>(path: string, body?: unknown, options?: RequestOptions) =>
    request<T>("POST", path, { ...options, body }),
  put: <T>(path: string, body?: unknown, options?: RequestOptions) =>
    request<T>("PUT", path, { ...options, body }),
  patch: <T>(path: string, body?: unknown, options?: RequestOptions) =>
    request<T>("PATCH", path, { ...options, body }),
  delete: <T>(path: string, options?: RequestOptions) => request<T>("DELETE", path, options),
};
