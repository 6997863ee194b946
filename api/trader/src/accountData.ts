import { useEffect, useRef, useState } from "preact/hooks";
import { apiGet } from "../../console/src/api.ts";
import type { Feed } from "./ws.ts";
import type { Balance, Fill, Order, Paged, StopOrder, WalletHoldings } from "./types.ts";

export type AccountData = {
  balances: Balance[];
  holdings: WalletHoldings | null;
  open: Order[];
  history: Order[];
  fills: Fill[];
  stops: StopOrder[];
  reload(): void;
};

/**
 * The signed-in account's state, kept current without reloading the page: balances from the
 * /account/balance topic as they come, orders and fills fetched again on each
 * /spotMarket/tradeOrders (and stop orders on each /spotMarket/advancedOrders) change, and fills polled while any waits for settlement on chain (no
 * topic carries settlement).
 */
export function useAccountData(feed: Feed | null): AccountData {
  const [balances, setBalances] = useState<Balance[]>([]);
  const [holdings, setHoldings] = useState<WalletHoldings | null>(null);
  const [open, setOpen] = useState<Order[]>([]);
  const [history, setHistory] = useState<Order[]>([]);
  const [fills, setFills] = useState<Fill[]>([]);
  const [stops, setStops] = useState<StopOrder[]>([]);
  const timers = useRef<Record<string, ReturnType<typeof setTimeout>>>({});
  const soon = (name: string, f: () => void, ms = 120) => {
    clearTimeout(timers.current[name]);
    timers.current[name] = setTimeout(f, ms);
  };
  const ignore = () => undefined;
  const loadOrders = () => {
    apiGet<Paged<Order>>("/api/v1/orders?status=active&pageSize=200").then((r) => setOpen(r.items), ignore);
    apiGet<Paged<Order>>("/api/v1/orders?status=done&pageSize=50").then((r) => setHistory(r.items), ignore);
    // Stop orders wait off the book until their trigger; a gateway without the route has none.
    apiGet<Paged<StopOrder> | StopOrder[]>("/api/v1/stop-order").then((r) => setStops(Array.isArray(r) ? r : r.items), () => setStops([]));
  };
  const loadFills = () => apiGet<Paged<Fill>>("/api/v1/fills?pageSize=50").then((r) => setFills(r.items), ignore);
  const loadBalances = () => apiGet<Balance[]>("/api/v1/accounts").then(setBalances, ignore);
  const loadHoldings = () => apiGet<WalletHoldings>("/api/v1/sen/wallet").then(setHoldings, () => setHoldings(null));
  const reload = () => {
    loadOrders();
    void loadFills();
    void loadBalances();
    void loadHoldings();
  };
  useEffect(() => {
    if (!feed) return;
    reload();
    const offOrders = feed.on("/spotMarket/tradeOrders", () => {
      soon("orders", loadOrders);
      soon("fills", loadFills, 200);
    });
    // Stop orders: placed, triggered (then an ordinary order) or cancelled.
    const offStops = feed.on("/spotMarket/advancedOrders", () => soon("orders", loadOrders));
    const offBalance = feed.on("/account/balance", (d: { currency: string; total: string; available: string; hold: string }) => {
      setBalances((bs) => {
        const next = { currency: d.currency, balance: d.total, available: d.available, holds: d.hold };
        return bs.some((b) => b.currency === d.currency) ? bs.map((b) => (b.currency === d.currency ? next : b)) : [...bs, next];
      });
      // Custody moves on chain (deposits, settlement, payouts) after the ledger does.
      soon("holdings", loadHoldings, 1000);
    });
    window.addEventListener("sen:resync", reload);
    return () => {
      offOrders();
      offStops();
      offBalance();
      window.removeEventListener("sen:resync", reload);
      Object.values(timers.current).forEach(clearTimeout);
    };
  }, [feed]);
  const pending = fills.some((f) => f.settlementStatus === "pending");
  useEffect(() => {
    if (!feed || !pending) return;
    const id = setInterval(() => {
      void loadFills();
      void loadHoldings();
    }, 1500);
    return () => clearInterval(id);
  }, [feed, pending]);
  return { balances, holdings, open, history, fills, stops, reload };
}
