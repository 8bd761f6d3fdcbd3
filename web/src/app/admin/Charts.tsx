/** The usage charts, drawn by uPlot (canvas): events per day by action (one line per action) and the most
 *  active people (bars). Each chart has its data as a table next to it (a canvas says nothing to a screen
 *  reader). `onDrawn` reports when uPlot finished drawing (the benchmark measures it). */
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Day {
  day: string;
  total: number;
  counts: Record<string, number>;
}

export interface Actor {
  actor: string | null;
  actor_hash: string;
  total: number;
}

/** Colours with at least 3:1 contrast on white, one per action. */
const COLOURS = ["#0b57d0", "#b3261e", "#146c2e", "#8a4b00", "#6a1b9a", "#00677f", "#5f6368", "#9c2b6b", "#3d5a00", "#7a3e1d", "#1a237e"];

const DAY_S = 86_400;

/** Every day of [since, until) with its counts (days without events as zeros), as uPlot's columns. */
export function dailyColumns(days: Day[], since: string, until: string): { actions: string[]; data: uPlot.AlignedData } {
  const start = Math.floor(Date.parse(since) / 1000 / DAY_S) * DAY_S;
  const end = Math.ceil(Date.parse(until) / 1000 / DAY_S) * DAY_S;
  const n = Math.max(1, Math.round((end - start) / DAY_S));
  const actions = [...new Set(days.flatMap((d) => Object.keys(d.counts)))].sort();
  const xs = Float64Array.from({ length: n }, (_, i) => start + i * DAY_S);
  const ys = actions.map(() => new Float64Array(n));
  for (const d of days) {
    const i = Math.round((Date.parse(`${d.day}T00:00:00Z`) / 1000 - start) / DAY_S);
    if (i < 0 || i >= n) continue;
    actions.forEach((a, j) => { ys[j]![i] = d.counts[a] ?? 0; });
  }
  return { actions, data: [xs, ...ys] as unknown as uPlot.AlignedData };
}

/** The chart's width: its box's (the page column), within 280..960 px. */
const widthOf = (el: HTMLDivElement): number => Math.max(280, Math.min(960, el.clientWidth || 640));

export function DailyChart({ days, since, until, onDrawn }: { days: Day[]; since: string; until: string; onDrawn?: () => void }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!el.current) return;
    const width = widthOf(el.current);
    const { actions, data } = dailyColumns(days, since, until);
    const plot = new uPlot({
      width,
      height: 260,
      scales: { x: { time: true } },
      series: [{ label: "day", value: (_u, v) => (v === null ? "" : new Date(v * 1000).toISOString().slice(0, 10)) },
        ...actions.map((a, i) => ({ label: a, stroke: COLOURS[i % COLOURS.length], width: 2 }))],
      axes: [{}, { label: "events per day", size: 60 }],
      hooks: { ready: [() => onDrawn?.()] },
    }, data, el.current);
    return () => plot.destroy();
  }, [days, since, until]);
  return <div class="chart" ref={el} role="img" aria-label="Events per day by action (the same numbers are in the table below)" />;
}

export function TopChart({ actors }: { actors: Actor[] }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!el.current || actors.length === 0) return;
    const width = widthOf(el.current);
    const names = actors.map((a) => a.actor ?? `(outside) ${a.actor_hash.slice(0, 12)}…`);
    const xs = Float64Array.from(actors, (_, i) => i);
    const top = Math.max(...actors.map((a) => a.total));
    const plot = new uPlot({
      width,
      height: 240,
      scales: { x: { time: false, range: [-0.5, actors.length - 0.5] }, y: { range: [0, Math.ceil(top * 1.1) || 1] } },
      series: [{ label: "person", value: (_u, v) => (v === null ? "" : names[v] ?? "") },
        { label: "events", stroke: COLOURS[0], fill: "rgba(11, 87, 208, 0.35)", paths: uPlot.paths.bars!({ size: [0.7, 60] }),
          points: { show: false } }],
      axes: [{ splits: () => actors.map((_, i) => i), values: (_u, splits) => splits.map((v) => `#${v + 1}`), label: "rank (names in the list below)" },
        { label: "events", size: 60 }],
    }, [xs, Float64Array.from(actors, (a) => a.total)] as unknown as uPlot.AlignedData, el.current);
    return () => plot.destroy();
  }, [actors]);
  return <div class="chart" ref={el} role="img" aria-label="The most active people (the same numbers are in the table below)" />;
}
