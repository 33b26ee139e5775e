/**
 * A uPlot chart that follows its container's width and the page's light/dark colours. uPlot is
 * loaded on first use (its own chunk), so pages without a chart do not pay for it.
 */
import { useEffect, useRef } from 'preact/hooks';
import type uPlot from 'uplot';

export interface ChartSeries {
  label: string;
  /** A CSS custom property holding the colour, e.g. `--state-completed`. */
  colorVar: string;
  values: (number | null)[];
}

function cssColor(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
}

export function Chart(props: {
  title: string;
  /** Seconds since the epoch, one per point. */
  times: number[];
  series: ChartSeries[];
  /** Stacked bars (counts) instead of lines. */
  bars?: boolean;
  valueLabel: (value: number) => string;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    let cleanup: (() => void) | null = null;
    let cancelled = false;
    // Colours are read from CSS when drawing: a change of the system's theme draws the chart again.
    const scheme = matchMedia('(prefers-color-scheme: dark)');
    let generation = 0;
    const redraw = () => {
      if (cancelled) return;
      cleanup?.();
      cleanup = null;
      const mine = ++generation;
      void loadUPlot().then((UPlot) => {
        if (!cancelled && mine === generation) cleanup = draw(UPlot, element);
      });
    };
    redraw();
    scheme.addEventListener('change', redraw);
    return () => {
      cancelled = true;
      scheme.removeEventListener('change', redraw);
      cleanup?.();
    };
  }, [props.times, props.series, props.bars, props.valueLabel]);
  return <figure class="chart" aria-label={props.title} ref={box} />;

  function draw(UPlot: typeof uPlot, element: HTMLDivElement): () => void {
    const axisColor = cssColor('--muted');
    const gridColor = cssColor('--grid');
    const bars = props.bars ? UPlot.paths.bars?.({ size: [0.8, 12] }) : undefined;
    // Stacked bars: each series is drawn as its running total, the tallest first, so every outcome
    // shows as its own band; the legend still reads each series' own value.
    const raw = props.series.map((series) => series.values);
    const drawn = props.bars ? stack(raw) : raw;
    const order = props.series.map((_series, index) => index);
    if (props.bars) order.reverse();
    const options: uPlot.Options = {
      width: Math.max(280, element.clientWidth),
      height: 200,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      axes: [
        { stroke: axisColor, grid: { stroke: gridColor, width: 1 }, ticks: { stroke: gridColor } },
        {
          stroke: axisColor,
          grid: { stroke: gridColor, width: 1 },
          ticks: { stroke: gridColor },
          size: 60,
          values: (_plot, ticks) => ticks.map((tick) => props.valueLabel(tick)),
        },
      ],
      series: [
        {},
        ...order.map((index) => {
          const series = props.series[index] as ChartSeries;
          return {
            label: series.label,
            stroke: cssColor(series.colorVar),
            fill: props.bars ? cssColor(series.colorVar) : undefined,
            width: props.bars ? 0 : 2,
            paths: bars,
            points: { show: !props.bars },
            value: (_plot: uPlot, _value: number | null, _series: number, at: number | null) => {
              const own = at === null ? null : (raw[index]?.[at] ?? null);
              return own === null ? '–' : props.valueLabel(own);
            },
          };
        }),
      ],
    };
    const plot = new UPlot(options, [props.times, ...order.map((index) => drawn[index])] as uPlot.AlignedData, element);
    const observer = new ResizeObserver(() => plot.setSize({ width: Math.max(280, element.clientWidth), height: 200 }));
    observer.observe(element);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }
}

let uPlotModule: Promise<typeof uPlot> | null = null;
function loadUPlot(): Promise<typeof uPlot> {
  uPlotModule ??= Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css')]).then(([module]) => module.default);
  return uPlotModule;
}

/** Running totals per point, series by series (nulls count as 0). */
function stack(series: (number | null)[][]): (number | null)[][] {
  const totals: number[] = [];
  return series.map((values) =>
    values.map((value, at) => {
      totals[at] = (totals[at] ?? 0) + (value ?? 0);
      return totals[at] as number;
    }),
  );
}
