/**
 * Just enough YAML for our own manifests (block maps and lists by indentation, `- ` items, plain
 * and quoted scalars, flow lists `[a, b]`, `{}`), so their structure can be checked without a
 * YAML dependency. Anything outside that subset (anchors, multi-line scalars, tabs) is an error
 * naming the line, so a manifest that grows past it fails loudly rather than being misread.
 */
export type Yaml = string | number | boolean | null | Yaml[] | { [k: string]: Yaml };

interface Line {
  n: number;
  indent: number;
  text: string;
}

function stripComment(s: string): string {
  let q: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (q) {
      if (c === '\\' && q === '"') i++;
      else if (c === q) q = null;
    } else if (c === '"' || c === "'") q = c;
    else if (c === '#' && (i === 0 || /\s/.test(s[i - 1]!))) return s.slice(0, i);
  }
  return s;
}

function scalar(raw: string, n: number): Yaml {
  const s = raw.trim();
  if (s.startsWith('"')) {
    try {
      return JSON.parse(s);
    } catch {
      throw new Error(`line ${n}: bad double-quoted string ${s}`);
    }
  }
  if (s.startsWith("'")) {
    if (!s.endsWith("'")) throw new Error(`line ${n}: bad single-quoted string`);
    return s.slice(1, -1).replace(/''/g, "'");
  }
  if (s.startsWith('[')) {
    if (!s.endsWith(']')) throw new Error(`line ${n}: a flow list must close on its line`);
    const inner = s.slice(1, -1).trim();
    return inner ? splitFlow(inner).map((x) => scalar(x, n)) : [];
  }
  if (s === '{}') return {};
  if (s.startsWith('{') || /^[&*!|>]/.test(s)) throw new Error(`line ${n}: unsupported YAML: ${s}`);
  if (s === 'true' || s === 'false') return s === 'true';
  if (s === 'null' || s === '~' || s === '') return null;
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
  return s;
}

/** Splits a flow list's inside on commas outside quotes. */
function splitFlow(s: string): string[] {
  const out: string[] = [];
  let q: string | null = null,
    cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (q) {
      cur += c;
      if (c === '\\' && q === '"') cur += s[++i] ?? '';
      else if (c === q) q = null;
    } else if (c === '"' || c === "'") {
      q = c;
      cur += c;
    } else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out.map((x) => x.trim());
}

/** `key: value` → [key, value text], or null when the line is not a mapping entry. */
function entry(text: string): [string, string] | null {
  const m = /^("(?:[^"\\]|\\.)*"|'[^']*'|[^\s"'#][^:]*?):(?:\s+(.*))?$/.exec(text);
  return m ? [String(scalar(m[1]!, 0)), m[2] ?? ''] : null;
}

export function parseYaml(src: string): Yaml {
  const lines: Line[] = [];
  src.split('\n').forEach((raw, i) => {
    if (raw.includes('\t')) throw new Error(`line ${i + 1}: tab character`);
    const text = stripComment(raw).trimEnd();
    if (!text.trim() || text.trim() === '---') return;
    lines.push({ n: i + 1, indent: text.length - text.trimStart().length, text: text.trim() });
  });
  let pos = 0;

  function block(indent: number): Yaml {
    const first = lines[pos];
    if (!first || first.indent < indent) return null;
    return first.text.startsWith('- ') || first.text === '-' ? list(first.indent) : map(first.indent);
  }
  function list(indent: number): Yaml[] {
    const out: Yaml[] = [];
    while (pos < lines.length && lines[pos]!.indent === indent && (lines[pos]!.text.startsWith('- ') || lines[pos]!.text === '-')) {
      const l = lines[pos]!;
      const rest = l.text.slice(1).trimStart();
      if (rest && entry(rest)) {
        // "- key: value" opens a map whose further keys sit two columns in.
        lines[pos] = { n: l.n, indent: indent + 2, text: rest };
        out.push(map(indent + 2));
      } else {
        pos++;
        out.push(rest ? scalar(rest, l.n) : block(indent + 1));
      }
    }
    return out;
  }
  function map(indent: number): { [k: string]: Yaml } {
    const out: { [k: string]: Yaml } = {};
    while (pos < lines.length && lines[pos]!.indent === indent && !lines[pos]!.text.startsWith('- ')) {
      const l = lines[pos]!;
      const e = entry(l.text);
      if (!e) throw new Error(`line ${l.n}: expected "key: value", got ${l.text}`);
      const [k, v] = e;
      if (k in out) throw new Error(`line ${l.n}: duplicate key ${k}`);
      pos++;
      if (v) out[k] = scalar(v, l.n);
      else {
        const next = lines[pos];
        // A list may sit at the key's own indent ("key:\n- a"), as YAML allows.
        out[k] = next && (next.indent > indent || (next.indent === indent && next.text.startsWith('- '))) ? block(next.indent) : null;
      }
    }
    if (pos < lines.length && lines[pos]!.indent > indent) throw new Error(`line ${lines[pos]!.n}: unexpected indentation`);
    return out;
  }
  const doc = block(0);
  if (pos < lines.length) throw new Error(`line ${lines[pos]!.n}: not parsed: ${lines[pos]!.text}`);
  return doc;
}
