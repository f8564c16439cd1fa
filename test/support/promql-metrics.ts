/**
 * Metric names in PromQL expressions and in Prometheus exposition text, for the test that every
 * metric a dashboard panel or an alert rule uses is one the code exports.
 */

const keywords = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/** The metric names an expression selects (functions, keywords, labels and variables left out). */
export function metricNamesIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, ' ') // strings
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges and subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists
    .replace(/\$\{?\w+\}?/g, ' '); // Grafana variables
  const names = new Set<string>();
  for (const m of bare.matchAll(/(?<![\w.])[a-zA-Z_:][\w:]*/g)) {
    const name = m[0];
    const after = bare.slice((m.index ?? 0) + name.length).trimStart();
    if (after.startsWith('(') || keywords.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names];
}

/** Every series name an exposition text can hold: each metric, and a histogram's derived series. */
export function exportedSeriesNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const m of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name = '', type] = m;
    names.add(name);
    if (type === 'histogram' || type === 'summary')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
  }
  return names;
}

/** A rule file's alerts with their expression and annotations (the shape our rule file uses). */
export function alertRules(
  yaml: string,
): { alert: string; expr: string; annotations: Record<string, string> }[] {
  const rules: { alert: string; expr: string; annotations: Record<string, string> }[] = [];
  const lines = yaml.split('\n');
  const indentOf = (line: string) => line.length - line.trimStart().length;
  // A key's value: inline, or the block of deeper-indented lines under `key: >-` or `key: |`.
  const valueAt = (i: number): string => {
    const line = lines[i] ?? '';
    const inline = line.slice(line.indexOf(':') + 1).trim();
    if (!/^[>|]-?$/.test(inline)) return inline.replace(/^['"]|['"]$/g, '');
    const block: string[] = [];
    for (let j = i + 1; j < lines.length; j++) {
      const next = lines[j] ?? '';
      if (next.trim() !== '' && indentOf(next) <= indentOf(line)) break;
      block.push(next.trim());
    }
    return block.join(' ').trim();
  };
  let current: (typeof rules)[number] | undefined;
  let annotationsIndent = -1;
  lines.forEach((line, i) => {
    const alert = /^\s*- alert:\s*(\S+)/.exec(line);
    if (alert) {
      current = { alert: alert[1] ?? '', expr: '', annotations: {} };
      rules.push(current);
      annotationsIndent = -1;
      return;
    }
    if (!current) return;
    if (/^\s*expr:/.test(line)) current.expr = valueAt(i);
    else if (/^\s*annotations:\s*$/.test(line)) annotationsIndent = indentOf(line);
    else if (annotationsIndent >= 0 && line.trim() !== '') {
      if (indentOf(line) <= annotationsIndent) annotationsIndent = -1;
      else {
        const key = /^\s*(\w+):/.exec(line);
        if (key && indentOf(line) === annotationsIndent + 2)
          current.annotations[key[1] ?? ''] = valueAt(i);
      }
    }
  });
  return rules;
}
