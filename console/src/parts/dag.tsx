/**
 * A dependency graph (an order's assembly steps, a batch's jobs): laid out by dagre, drawn as
 * SVG, each node coloured by its state. Nodes are buttons: Enter or a click opens the job.
 */
import dagre from '@dagrejs/dagre';
import { useMemo } from 'preact/hooks';
import { stateClass } from './format.ts';

export interface DagNode {
  readonly id: string;
  readonly label: string;
  readonly status: string;
  readonly detail?: string;
  readonly jobId?: string;
}

const width = 170;
const height = 48;

export function Dag(props: {
  readonly nodes: readonly DagNode[];
  readonly edges: readonly (readonly [string, string])[];
  readonly label: string;
  readonly onOpen?: (node: DagNode) => void;
}) {
  const layout = useMemo(() => {
    const graph = new dagre.graphlib.Graph();
    graph.setGraph({ rankdir: 'LR', nodesep: 18, ranksep: 50, marginx: 8, marginy: 8 });
    graph.setDefaultEdgeLabel(() => ({}));
    for (const node of props.nodes) graph.setNode(node.id, { width, height });
    for (const [from, to] of props.edges)
      if (graph.hasNode(from) && graph.hasNode(to)) graph.setEdge(from, to);
    dagre.layout(graph);
    const size = graph.graph();
    return {
      width: size.width ?? width,
      height: size.height ?? height,
      nodes: props.nodes.map((node) => ({ node, at: graph.node(node.id) })),
      edges: graph.edges().map((e) => graph.edge(e).points ?? []),
    };
  }, [props.nodes, props.edges]);
  return (
    <svg
      class="dag"
      viewBox={`0 0 ${layout.width} ${layout.height}`}
      width={layout.width}
      height={layout.height}
      aria-label={props.label}
    >
      <defs>
        <marker
          id="arrow"
          viewBox="0 0 10 10"
          refX="9"
          refY="5"
          markerWidth="7"
          markerHeight="7"
          orient="auto"
        >
          <path d="M0,0 L10,5 L0,10 z" class="dag-arrow" />
        </marker>
      </defs>
      {layout.edges.map((points, i) => (
        <polyline
          key={i}
          class="dag-edge"
          points={points.map((p: { x: number; y: number }) => `${p.x},${p.y}`).join(' ')}
          marker-end="url(#arrow)"
        />
      ))}
      {layout.nodes.map(({ node, at }) => (
        // biome-ignore lint/a11y/useSemanticElements: an SVG group cannot be a <button>
        <g
          key={node.id}
          class={`dag-node ${stateClass(node.status)}`}
          transform={`translate(${at.x - width / 2},${at.y - height / 2})`}
          role="button"
          tabIndex={0}
          aria-label={`${node.label}: ${node.status}`}
          data-status={node.status}
          onClick={() => props.onOpen?.(node)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' || e.key === ' ') props.onOpen?.(node);
          }}
        >
          <rect width={width} height={height} rx="6" />
          <text x="10" y="19" class="dag-label">
            {node.label.length > 22 ? `${node.label.slice(0, 21)}…` : node.label}
          </text>
          <text x="10" y="37" class="dag-status">
            {node.status}
            {node.detail ? ` · ${node.detail}` : ''}
          </text>
        </g>
      ))}
    </svg>
  );
}
