/**
 * Text for people's terminals. Event and condition messages quote what users wrote (names, hosts, the API
 * server's echo of a rejected value), and `kubectl describe` and `kubectl get events` print them raw: an
 * escape sequence there can retitle a window, clear the screen or forge lines. Control characters (C0, DEL,
 * C1), line and paragraph separators and the bidirectional overrides become visible `\uXXXX` escapes.
 */

const UNPRINTABLE = /[\p{Cc}\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/** `text` with every character that could steer a terminal written as a `\uXXXX` escape. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
