/** An ECharts chart in a div: created once, given new options as the data changes. */
import { BarChart, CustomChart, HeatmapChart, LineChart } from 'echarts/charts';
import {
  DataZoomComponent,
  GridComponent,
  LegendComponent,
  TooltipComponent,
  VisualMapComponent,
} from 'echarts/components';
import * as echarts from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';
import { useEffect, useRef } from 'preact/hooks';

echarts.use([
  LineChart,
  BarChart,
  HeatmapChart,
  CustomChart,
  GridComponent,
  TooltipComponent,
  LegendComponent,
  VisualMapComponent,
  DataZoomComponent,
  SVGRenderer,
]);

export type ChartOptions = echarts.EChartsCoreOption;

export function Chart(props: {
  readonly options: ChartOptions;
  readonly label: string;
  readonly height?: number;
  readonly onClick?: (params: { data?: unknown; dataIndex: number }) => void;
}) {
  const element = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | undefined>(undefined);
  const onClick = useRef(props.onClick);
  onClick.current = props.onClick;
  useEffect(() => {
    if (!element.current) return;
    const created = echarts.init(element.current, undefined, { renderer: 'svg' });
    chart.current = created;
    created.on('click', (params) => onClick.current?.(params as { data?: unknown; dataIndex: number }));
    const resize = new ResizeObserver(() => created.resize());
    resize.observe(element.current);
    return () => {
      resize.disconnect();
      created.dispose();
    };
  }, []);
  useEffect(() => {
    chart.current?.setOption(props.options, { notMerge: true });
  }, [props.options]);
  return (
    <div
      ref={element}
      class="chart"
      role="img"
      aria-label={props.label}
      style={{ height: `${props.height ?? 260}px` }}
    />
  );
}
