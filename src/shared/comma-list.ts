/** The trimmed, non-empty entries of a comma-separated setting (`a, b,,c` gives a, b, c). */
export function commaList(spec: string): string[] {
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
