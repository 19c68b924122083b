/**
 * Time-series charts with uPlot: a canvas chart of ~50 KB with no dependencies that draws
 * thousands of points in a few milliseconds, so live pages can redraw on every change. Threshold
 * lines are series drawn dashed; the chart resizes with its container.
 */
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Line {
  label: string;
  values: (number | null)[];
  color: string;
  dashed?: boolean;
  /** Draw on a log scale axis (p-values). */
  scale?: string;
}

export interface ChartProps {
  title: string;
  /** Seconds since the epoch, ascending. */
  x: number[];
  lines: Line[];
  height?: number;
  /** Log-scaled y axis (p-values). */
  log?: boolean;
  /** Unix seconds (false) or plain numbers such as epochs (true). */
  plainX?: boolean;
}

/** One chart; re-created when its lines change shape, given new data otherwise. */
export function Chart(props: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const shape = `${props.lines.map((l) => l.label).join("|")}|${props.log}|${props.plainX}`;
  useEffect(() => {
    const el = box.current!;
    const opts: uPlot.Options = {
      title: props.title,
      width: Math.max(200, el.clientWidth),
      height: props.height ?? 220,
      scales: { x: { time: !props.plainX }, y: props.log ? { distr: 3, log: 10 } : {} },
      series: [
        {},
        ...props.lines.map((l) => ({
          label: l.label,
          stroke: l.color,
          width: l.dashed ? 1 : 2,
          dash: l.dashed ? [6, 4] : undefined,
          spanGaps: true,
          points: { show: !l.dashed },
        })),
      ],
      axes: [
        {},
        {
          size: 60,
          // Log axes of p-values span many decades: 1e-12 reads better than a column of zeros.
          ...(props.log
            ? {
                values: (_u: uPlot, ticks: number[]) =>
                  ticks.map((v) => (v == null ? "" : v >= 0.01 ? String(v) : v.toExponential(0))),
              }
            : {}),
        },
      ],
    };
    plot.current = new uPlot(opts, [props.x, ...props.lines.map((l) => l.values)] as uPlot.AlignedData, el);
    const resize = new ResizeObserver(() =>
      plot.current?.setSize({ width: Math.max(200, el.clientWidth), height: props.height ?? 220 }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = undefined;
    };
  }, [shape]);

  useEffect(() => {
    plot.current?.setData([props.x, ...props.lines.map((l) => l.values)] as uPlot.AlignedData);
  }, [props.x, props.lines]);

  return <div class="chart" ref={box} role="img" aria-label={props.title} />;
}

export const COLORS = ["#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7ea4"];
