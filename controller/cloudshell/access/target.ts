/**
 * What a terminal's command reaches, when it is CloudTTY's `kubectl exec` or `kubectl logs` use: the pod
 * (or workload) and namespace that `commandAction` names. The operator asks the API server whether the
 * terminal's identity may do that before the terminal starts, so a shell that could only print Forbidden is
 * refused with a reason instead of going Ready (reconciler.ts, access_review.ts).
 *
 * The command is read as the shell would split it (quotes and backslashes), and only when it is one plain
 * kubectl command: anything with unquoted shell syntax (`;`, `|`, `$`, ...), another program, or flags this
 * parser does not know is "not a target", and the terminal starts as any other shell would. That errs on the
 * side of starting: RBAC, not this parser, is what keeps a terminal to its rights.
 */

/** A kubectl exec or logs target. */
export interface TerminalTarget {
  readonly verb: "exec" | "logs";
  /** `-n`/`--namespace`, else the CloudShell's namespace (kubectl's context namespace in the terminal). */
  readonly namespace: string;
  /** The pod's name when the command names a pod; absent for `deploy/x` and `-l selector`, whose pod kubectl picks. */
  readonly pod?: string;
  /** What the command names, as written (`app`, `deploy/coredns`, `-l app=web`), for messages. */
  readonly object: string;
}

/** Flags that take a value, per subcommand (and global ones); any other flag starting with `-` is boolean. */
const GLOBAL_VALUE_FLAGS = new Set(["-n", "--namespace", "--request-timeout", "-v", "--v"]);
/** Global flags that change who or where kubectl talks to: the check would not be about the terminal's identity. */
const ELSEWHERE_FLAGS = new Set([
  "--kubeconfig",
  "--context",
  "--cluster",
  "--user",
  "-s",
  "--server",
  "--token",
  "--as",
  "--as-group",
  "--as-uid",
  "--as-user-extra",
  "--username",
  "--password",
]);
const EXEC_VALUE_FLAGS = new Set(["-c", "--container", "--pod-running-timeout"]);
const EXEC_BOOLEAN_FLAGS = new Set(["-i", "--stdin", "-t", "--tty", "-q", "--quiet", "-it", "-ti"]);
const LOGS_VALUE_FLAGS = new Set([
  "-c",
  "--container",
  "--tail",
  "--since",
  "--since-time",
  "-l",
  "--selector",
  "--max-log-requests",
  "--limit-bytes",
  "--pod-running-timeout",
]);
const LOGS_BOOLEAN_FLAGS = new Set([
  "-f",
  "--follow",
  "-p",
  "--previous",
  "--timestamps",
  "--all-containers",
  "--all-pods",
  "--prefix",
  "--ignore-errors",
  "--insecure-skip-tls-verify-backend",
]);
const POD_TYPES = new Set(["pod", "pods", "po"]);

/**
 * Splits a command line as sh would, or returns undefined when it holds unquoted shell syntax (anything but
 * one simple command) or an unterminated quote.
 */
export function splitCommand(line: string): string[] | undefined {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) return undefined;
      word += line.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if ("$`".includes(line[j])) return undefined;
        if (line[j] === "\\" && j + 1 < line.length && '"\\'.includes(line[j + 1])) j++;
        word += line[j];
      }
      if (j >= line.length) return undefined;
      inWord = true;
      i = j;
    } else if (c === "\\") {
      if (i + 1 >= line.length) return undefined;
      word += line[++i];
      inWord = true;
    } else if (c === " " || c === "\t") {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else if (";&|<>()$`\n\r*?[]{}~#!".includes(c)) {
      return undefined;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** The exec or logs target of `command`, or undefined when it is not one plain kubectl exec or logs. */
export function terminalTarget(command: string, shellNamespace: string): TerminalTarget | undefined {
  const words = splitCommand(command);
  if (!words || words.length < 2) return undefined;
  if (words[0] !== "kubectl" && !words[0].endsWith("/kubectl")) return undefined;
  let namespace = shellNamespace;
  let verb: "exec" | "logs" | undefined;
  let selector: string | undefined;
  const positional: string[] = [];
  for (let i = 1; i < words.length; i++) {
    const word = words[i];
    if (word === "--") break;
    if (!word.startsWith("-") || word === "-") {
      if (verb === undefined) {
        if (word !== "exec" && word !== "logs") return undefined;
        verb = word;
      } else {
        positional.push(word);
      }
      continue;
    }
    const eq = word.indexOf("=");
    let flag = eq > 0 ? word.slice(0, eq) : word;
    let value = eq > 0 ? word.slice(eq + 1) : undefined;
    // -nkube-system, -capp: a short flag with its value attached.
    if (value === undefined && /^-[nclv]./.test(word) && !EXEC_BOOLEAN_FLAGS.has(word)) {
      flag = word.slice(0, 2);
      value = word.slice(2);
    }
    if (ELSEWHERE_FLAGS.has(flag)) return undefined;
    const takesValue = GLOBAL_VALUE_FLAGS.has(flag) ||
      (verb === "exec" && EXEC_VALUE_FLAGS.has(flag)) ||
      (verb === "logs" && LOGS_VALUE_FLAGS.has(flag));
    const boolean = (verb === "exec" && EXEC_BOOLEAN_FLAGS.has(flag)) ||
      (verb === "logs" && LOGS_BOOLEAN_FLAGS.has(flag)) ||
      flag === "--insecure-skip-tls-verify";
    if (takesValue) {
      if (value === undefined) {
        if (i + 1 >= words.length) return undefined;
        value = words[++i];
      }
      if (flag === "-n" || flag === "--namespace") namespace = value;
      if (flag === "-l" || flag === "--selector") selector = value;
    } else if (!boolean || (value !== undefined && !/^(true|false)$/.test(value))) {
      // A flag this parser does not know: better no check than one about the wrong thing.
      return undefined;
    }
  }
  if (!verb || namespace === "") return undefined;
  if (selector !== undefined && positional.length === 0 && verb === "logs") {
    return { verb, namespace, object: `-l ${selector}` };
  }
  const object = positional[0];
  if (!object) return undefined;
  const slash = object.indexOf("/");
  if (slash < 0) return { verb, namespace, pod: object, object };
  const type = object.slice(0, slash).toLowerCase();
  const name = object.slice(slash + 1);
  if (name === "" || name.includes("/")) return undefined;
  return POD_TYPES.has(type) ? { verb, namespace, pod: name, object } : { verb, namespace, object };
}
