/**
 * Where ttyd answers, derived from the page's own address: a route may put the shell under a path prefix
 * (`/ns/name/`), and with ttyd's `-a` the query string carries the command's arguments, so it goes to the
 * WebSocket as it came. Nothing secret is in either URL: a login travels only in the browser's basic-auth
 * header and in the token the page fetches with it.
 */
export interface Endpoints {
  /** ttyd's `token` endpoint (the AuthToken the first WebSocket message carries when ttyd has a login). */
  tokenUrl: string;
  /** ttyd's WebSocket (subprotocol `tty`), with the page's query string. */
  wsUrl: string;
}

export function endpoints(
  location: {
    protocol: string;
    host: string;
    pathname: string;
    search: string;
  },
): Endpoints {
  const base = location.pathname.replace(/\/+$/, "");
  const ws = location.protocol === "https:" ? "wss:" : "ws:";
  return {
    tokenUrl: `${location.protocol}//${location.host}${base}/token`,
    wsUrl: `${ws}//${location.host}${base}/ws${location.search}`,
  };
}
