/**
 * RPC URLs often carry an API key (in the query string or as a long path
 * segment); messages and logs name the endpoint without it.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    u.search = "";
    u.pathname = u.pathname
      .split("/")
      .map((seg) => (seg.length >= 16 && /[0-9]/.test(seg) && /[a-zA-Z]/.test(seg) ? "***" : seg))
      .join("/");
    return u.toString().replace(/\/$/, "");
  } catch {
    return "<source>";
  }
}
