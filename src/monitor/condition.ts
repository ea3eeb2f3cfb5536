/**
 * The expression language of success and failure conditions, after Argo
 * Rollouts' (`result[0] >= 0.95`), reduced to what a contract metric needs
 * and evaluated without `eval`:
 *
 *   result > baseline * 1.5 + 0.01
 *   result > 0.05 || (hasBaseline && result > baseline + 0.02)
 *   result == true          (a probe returning bool)
 *   max(result, 0) <= 10 and samples >= 3
 *
 * Names: `result` (the measured value), `baseline` (blue's value of the same
 * metric), `hasBaseline`, `samples`. Functions: `abs`, `min`, `max`.
 * Operators: `+ - * /`, `< <= > >= == !=`, `&& || !` (also `and or not`),
 * parentheses, numbers, `true`, `false` and quoted strings.
 *
 * Reading `baseline` when there is none throws `MissingBaselineError`: the
 * analysis counts that as inconclusive (it cannot judge), never as failure.
 */

type Value = number | boolean | string;

export class MissingBaselineError extends Error {
  constructor() {
    super("the condition reads `baseline`, but no baseline of blue is known for this metric");
  }
}

/** What a condition is evaluated against. */
export interface ConditionScope {
  result: Value;
  baseline: Value | undefined;
  samples: number;
}

export interface CompiledCondition {
  evaluate(scope: ConditionScope): boolean;
  identifiers: Set<string>;
}

const IDENTIFIERS = new Set(["result", "baseline", "hasBaseline", "samples"]);
const FUNCTIONS: Record<string, (args: number[]) => number> = {
  abs: ([x]) => Math.abs(x!),
  min: (args) => Math.min(...args),
  max: (args) => Math.max(...args),
};

type Token =
  | { kind: "num"; value: number; at: number }
  | { kind: "str"; value: string; at: number }
  | { kind: "id"; value: string; at: number }
  | { kind: "op"; value: string; at: number };

type Node =
  | { kind: "lit"; value: Value }
  | { kind: "id"; name: string }
  | { kind: "call"; name: string; args: Node[] }
  | { kind: "unary"; op: "!" | "-"; arg: Node }
  | { kind: "binary"; op: string; left: Node; right: Node };

/** Parses a condition; throws with the position of the first problem. */
export function compileCondition(text: string): CompiledCondition {
  const tokens = tokenize(text);
  let pos = 0;
  const identifiers = new Set<string>();

  const peek = () => tokens[pos];
  const fail = (message: string, at = peek()?.at ?? text.length): never => {
    throw new Error(`condition "${text}": ${message} at character ${at + 1}`);
  };
  const isOp = (...ops: string[]) => {
    const t = peek();
    return t !== undefined && t.kind === "op" && ops.includes(t.value);
  };
  const take = () => tokens[pos++]!;

  const parseOr = (): Node => {
    let left = parseAnd();
    while (isOp("||")) {
      take();
      left = { kind: "binary", op: "||", left, right: parseAnd() };
    }
    return left;
  };
  const parseAnd = (): Node => {
    let left = parseComparison();
    while (isOp("&&")) {
      take();
      left = { kind: "binary", op: "&&", left, right: parseComparison() };
    }
    return left;
  };
  const parseComparison = (): Node => {
    const left = parseAdditive();
    if (isOp("<", "<=", ">", ">=", "==", "!=")) {
      const op = take().value as string;
      return { kind: "binary", op, left, right: parseAdditive() };
    }
    return left;
  };
  const parseAdditive = (): Node => {
    let left = parseMultiplicative();
    while (isOp("+", "-")) {
      const op = take().value as string;
      left = { kind: "binary", op, left, right: parseMultiplicative() };
    }
    return left;
  };
  const parseMultiplicative = (): Node => {
    let left = parseUnary();
    while (isOp("*", "/")) {
      const op = take().value as string;
      left = { kind: "binary", op, left, right: parseUnary() };
    }
    return left;
  };
  const parseUnary = (): Node => {
    if (isOp("!", "-")) {
      const op = take().value as "!" | "-";
      return { kind: "unary", op, arg: parseUnary() };
    }
    return parsePrimary();
  };
  const parsePrimary = (): Node => {
    const t = peek();
    if (t === undefined) return fail("unexpected end");
    if (t.kind === "num" || t.kind === "str") {
      take();
      return { kind: "lit", value: t.value };
    }
    if (t.kind === "op" && t.value === "(") {
      take();
      const inner = parseOr();
      if (!isOp(")")) fail("missing ')'");
      take();
      return inner;
    }
    if (t.kind === "id") {
      take();
      if (t.value === "true" || t.value === "false") return { kind: "lit", value: t.value === "true" };
      if (isOp("(")) {
        if (FUNCTIONS[t.value] === undefined) fail(`unknown function "${t.value}" (known: ${Object.keys(FUNCTIONS).join(", ")})`, t.at);
        take();
        const args: Node[] = [];
        if (!isOp(")")) {
          args.push(parseOr());
          while (isOp(",")) {
            take();
            args.push(parseOr());
          }
        }
        if (!isOp(")")) fail("missing ')' after the arguments");
        take();
        return { kind: "call", name: t.value, args };
      }
      if (!IDENTIFIERS.has(t.value)) fail(`unknown name "${t.value}" (known: ${[...IDENTIFIERS].join(", ")})`, t.at);
      identifiers.add(t.value);
      return { kind: "id", name: t.value };
    }
    return fail(`unexpected "${t.value}"`);
  };

  if (tokens.length === 0) fail("is empty", 0);
  const tree = parseOr();
  if (pos < tokens.length) fail(`unexpected "${String(peek()!.value)}"`);

  return {
    identifiers,
    evaluate(scope) {
      const out = evaluate(tree, scope);
      if (typeof out !== "boolean") throw new Error(`condition "${text}" gave ${JSON.stringify(out)}, not true or false`);
      return out;
    },
  };
}

function evaluate(node: Node, scope: ConditionScope): Value {
  switch (node.kind) {
    case "lit":
      return node.value;
    case "id":
      if (node.name === "result") return scope.result;
      if (node.name === "samples") return scope.samples;
      if (node.name === "hasBaseline") return scope.baseline !== undefined;
      if (scope.baseline === undefined) throw new MissingBaselineError();
      return scope.baseline;
    case "call":
      return FUNCTIONS[node.name]!(node.args.map((a) => num(evaluate(a, scope), node.name)));
    case "unary": {
      const v = evaluate(node.arg, scope);
      return node.op === "!" ? !bool(v, "!") : -num(v, "-");
    }
    case "binary": {
      if (node.op === "&&") return bool(evaluate(node.left, scope), "&&") && bool(evaluate(node.right, scope), "&&");
      if (node.op === "||") return bool(evaluate(node.left, scope), "||") || bool(evaluate(node.right, scope), "||");
      const l = evaluate(node.left, scope);
      const r = evaluate(node.right, scope);
      switch (node.op) {
        case "==":
          return same(l, r);
        case "!=":
          return !same(l, r);
        case "<":
          return num(l, "<") < num(r, "<");
        case "<=":
          return num(l, "<=") <= num(r, "<=");
        case ">":
          return num(l, ">") > num(r, ">");
        case ">=":
          return num(l, ">=") >= num(r, ">=");
        case "+":
          return num(l, "+") + num(r, "+");
        case "-":
          return num(l, "-") - num(r, "-");
        case "*":
          return num(l, "*") * num(r, "*");
        case "/":
          return num(l, "/") / num(r, "/");
      }
      throw new Error(`unknown operator ${node.op}`);
    }
  }
}

/** Strings compare case-insensitively, so addresses match whatever their checksum casing. */
function same(l: Value, r: Value): boolean {
  if (typeof l === "string" && typeof r === "string") return l.toLowerCase() === r.toLowerCase();
  return l === r;
}

function num(v: Value, op: string): number {
  if (typeof v !== "number") throw new Error(`"${op}" needs numbers, got ${JSON.stringify(v)}`);
  return v;
}

function bool(v: Value, op: string): boolean {
  if (typeof v !== "boolean") throw new Error(`"${op}" needs true or false, got ${JSON.stringify(v)}`);
  return v;
}

const TWO_CHAR = new Set(["<=", ">=", "==", "!=", "&&", "||"]);
const ONE_CHAR = new Set(["<", ">", "!", "+", "-", "*", "/", "(", ")", ","]);
const WORD_OPS: Record<string, string> = { and: "&&", or: "||", not: "!" };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const number = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(text.slice(i));
    if (number !== null) {
      tokens.push({ kind: "num", value: Number(number[0]), at: i });
      i += number[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
    if (word !== null) {
      const w = word[0];
      tokens.push(WORD_OPS[w] !== undefined ? { kind: "op", value: WORD_OPS[w]!, at: i } : { kind: "id", value: w, at: i });
      i += w.length;
      continue;
    }
    if (c === '"' || c === "'") {
      const end = text.indexOf(c, i + 1);
      if (end < 0) throw new Error(`condition "${text}": unterminated string at character ${i + 1}`);
      tokens.push({ kind: "str", value: text.slice(i + 1, end), at: i });
      i = end + 1;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (TWO_CHAR.has(two)) {
      tokens.push({ kind: "op", value: two, at: i });
      i += 2;
      continue;
    }
    if (ONE_CHAR.has(c)) {
      tokens.push({ kind: "op", value: c, at: i });
      i++;
      continue;
    }
    throw new Error(`condition "${text}": unexpected "${c}" at character ${i + 1}`);
  }
  return tokens;
}
