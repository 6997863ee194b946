import { useEffect, useState } from "preact/hooks";

/**
 * Hash routes: `#/alerts`, `#/alerts/:id`, `#/search?…`, `#/orders/:id`, `#/identities/:hash`,
 * `#/books/:symbol?seq=|time=`, `#/settlements`, `#/reports?…` (compliance) and `#/operator` (operators).
 */
export type Route =
  | { view: "alerts"; params: URLSearchParams }
  | { view: "alert"; id: string }
  | { view: "search"; params: URLSearchParams }
  | { view: "order"; id: string }
  | { view: "identity"; hash: string }
  | { view: "book"; symbol: string; params: URLSearchParams }
  | { view: "settlements" }
  | { view: "reports"; params: URLSearchParams }
  | { view: "operator" };

export function parseRoute(hash: string): Route {
  const [pathPart, queryPart = ""] = hash.replace(/^#/, "").split("?", 2);
  const parts = pathPart.split("/").filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(queryPart);
  if (parts[0] === "alerts" && parts[1]) return { view: "alert", id: parts[1] };
  if (parts[0] === "search") return { view: "search", params };
  if (parts[0] === "orders" && parts[1]) return { view: "order", id: parts[1] };
  if (parts[0] === "identities" && parts[1]) return { view: "identity", hash: parts[1] };
  if (parts[0] === "books") return { view: "book", symbol: parts[1] ?? "", params };
  if (parts[0] === "settlements") return { view: "settlements" };
  if (parts[0] === "reports") return { view: "reports", params };
  if (parts[0] === "operator") return { view: "operator" };
  return { view: "alerts", params };
}

export const href = {
  alerts: () => "#/alerts",
  alert: (id: string) => `#/alerts/${encodeURIComponent(id)}`,
  search: (params: Record<string, string> = {}) => {
    const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "")).toString();
    return q ? `#/search?${q}` : "#/search";
  },
  order: (id: string) => `#/orders/${encodeURIComponent(id)}`,
  identity: (hash: string) => `#/identities/${encodeURIComponent(hash)}`,
  book: (symbol = "", params: Record<string, string> = {}) => {
    const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "")).toString();
    const path = symbol ? `#/books/${encodeURIComponent(symbol)}` : "#/books";
    return q ? `${path}?${q}` : path;
  },
  settlements: () => "#/settlements",
  reports: (params: Record<string, string> = {}) => {
    const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "")).toString();
    return q ? `#/reports?${q}` : "#/reports";
  },
  operator: () => "#/operator",
};

export function navigate(to: string): void {
  if (location.hash !== to) location.hash = to;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(location.hash));
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return route;
}
