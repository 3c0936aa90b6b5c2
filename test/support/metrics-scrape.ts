/**
 * Scraping /metrics in tests: fetches the Prometheus text format and parses it with a real parser
 * (parse-prometheus-text-format), then reads values by metric name and labels.
 */
import parsePrometheusTextFormat, { type ParsedFamily, type ParsedMetric } from "parse-prometheus-text-format";

/** A histogram's totals over the series that matched. */
export interface HistogramTotals {
  count: number;
  sum: number;
}

/** One parsed scrape. */
export interface Scrape {
  text: string;
  contentType: string;
  families: ParsedFamily[];
  /** The family of that name; throws when the scrape has none. */
  family(name: string): ParsedFamily;
  /** Sum of the values of the series whose labels include `labels` (0 when none matches). */
  value(name: string, labels?: Record<string, string>): number;
  /** Count and sum of a histogram's series whose labels include `labels` (zeros when none matches). */
  histogram(name: string, labels?: Record<string, string>): HistogramTotals;
}

const matches = (m: ParsedMetric, labels: Record<string, string>) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v);

/** Parses exposition text. */
export function parseScrape(text: string, contentType = ""): Scrape {
  const families = parsePrometheusTextFormat(text);
  const family = (name: string) => {
    const found = families.find((f) => f.name === name);
    if (!found) throw new Error(`no metric ${name} in the scrape`);
    return found;
  };
  return {
    text,
    contentType,
    families,
    family,
    value: (name, labels = {}) =>
      family(name)
        .metrics.filter((m) => matches(m, labels))
        .reduce((sum, m) => sum + Number(m.value), 0),
    histogram: (name, labels = {}) => {
      const f = family(name);
      if (f.type !== "HISTOGRAM") throw new Error(`${name} is a ${f.type}, not a histogram`);
      return f.metrics.filter((m) => matches(m, labels)).reduce((t, m) => ({ count: t.count + Number(m.count), sum: t.sum + Number(m.sum) }), { count: 0, sum: 0 });
    },
  };
}

/** GETs a /metrics URL (with a bearer token when given); throws unless it answers 200. */
export async function scrape(url: string, token?: string): Promise<Scrape> {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url}: HTTP ${res.status}: ${text}`);
  return parseScrape(text, res.headers.get("content-type") ?? "");
}
