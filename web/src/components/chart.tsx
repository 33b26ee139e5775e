/** A uPlot chart that follows its container's width and the page's light/dark colours. */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

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
  bars?: boolean;
  valueLabel: (value: number) => string;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const axisColor = cssColor('--muted');
    const gridColor = cssColor('--grid');
    const bars = props.bars ? uPlot.paths.bars?.({ size: [0.8, 12] }) : undefined;
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
        ...props.series.map((series) => ({
          label: series.label,
          stroke: cssColor(series.colorVar),
          fill: props.bars ? cssColor(series.colorVar) : undefined,
          width: 2,
          paths: bars,
          value: (_plot: uPlot, value: number | null) => (value === null ? '–' : props.valueLabel(value)),
        })),
      ],
    };
    const plot = new uPlot(
      options,
      [props.times, ...props.series.map((series) => series.values)] as uPlot.AlignedData,
      element,
    );
    const observer = new ResizeObserver(() => plot.setSize({ width: Math.max(280, element.clientWidth), height: 200 }));
    observer.observe(element);
    const scheme = matchMedia('(prefers-color-scheme: dark)');
    const redraw = () => plot.redraw();
    scheme.addEventListener('change', redraw);
    return () => {
      observer.disconnect();
      scheme.removeEventListener('change', redraw);
      plot.destroy();
    };
  }, [props.times, props.series, props.bars, props.valueLabel]);
  return <figure class="chart" aria-label={props.title} ref={box} />;
}
