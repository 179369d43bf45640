/**
 * A read-only index over an ONNX graph: who produces and who consumes each tensor, which tensors
 * are constants (initializers or Constant nodes), and node attributes. Structure detection
 * (src/teacher/structure.ts) and weight extraction walk the graph through this.
 */
import type { ExternalBytes, GraphProto, NodeProto, TensorProto } from './proto-core.ts';
import { initializerToFloat32, tensorDims, toNumber } from './proto-core.ts';

export interface IndexedNode {
  /** Position in graph.node (ONNX requires topological order). */
  index: number;
  op: string;
  domain: string;
  name: string;
  inputs: string[];
  outputs: string[];
  proto: NodeProto;
}

export class GraphIndex {
  readonly nodes: IndexedNode[];
  private readonly producers = new Map<string, IndexedNode>();
  private readonly consumerMap = new Map<string, IndexedNode[]>();
  readonly initializers = new Map<string, TensorProto>();
  private readonly constantNodes = new Map<string, TensorProto>();
  readonly inputNames: string[];
  readonly outputNames: string[];

  constructor(
    readonly graph: GraphProto,
    /** Reads constants stored as external data (Node: proto.ts externalDataIn(the model's folder)). */
    private readonly external?: ExternalBytes,
  ) {
    for (const t of graph.initializer ?? []) this.initializers.set(t.name ?? '', t);
    const initNames = new Set(this.initializers.keys());
    this.inputNames = (graph.input ?? []).map((v) => v.name ?? '').filter((n) => !initNames.has(n));
    this.outputNames = (graph.output ?? []).map((v) => v.name ?? '');
    this.nodes = (graph.node ?? []).map((proto, index) => ({
      index,
      op: proto.opType ?? '',
      domain: proto.domain ?? '',
      name: proto.name ?? '',
      inputs: proto.input ?? [],
      outputs: proto.output ?? [],
      proto,
    }));
    for (const n of this.nodes) {
      for (const o of n.outputs) this.producers.set(o, n);
      for (const i of n.inputs) {
        if (!i) continue;
        const list = this.consumerMap.get(i) ?? [];
        list.push(n);
        this.consumerMap.set(i, list);
      }
      if (n.op === 'Constant') {
        const value = (n.proto.attribute ?? []).find((a) => a.name === 'value');
        if (value?.t) this.constantNodes.set(n.outputs[0], value.t);
      } else if (n.op === 'Identity') {
        // torch de-duplicates equal parameters (e.g. untrained LayerNorms) into Identity(other) nodes.
        const source = this.constantTensor(n.inputs[0]);
        if (source) this.constantNodes.set(n.outputs[0], source);
      }
    }
  }

  producer(tensor: string): IndexedNode | undefined {
    return this.producers.get(tensor);
  }

  consumers(tensor: string): IndexedNode[] {
    return this.consumerMap.get(tensor) ?? [];
  }

  isInitializer(tensor: string): boolean {
    return this.initializers.has(tensor);
  }

  /** An initializer or the output of a Constant node. */
  constantTensor(tensor: string): TensorProto | undefined {
    return this.initializers.get(tensor) ?? this.constantNodes.get(tensor);
  }

  isConstant(tensor: string): boolean {
    return this.constantTensor(tensor) !== undefined;
  }

  constantShape(tensor: string): number[] | undefined {
    const t = this.constantTensor(tensor);
    return t ? tensorDims(t) : undefined;
  }

  constantValues(tensor: string): Float32Array {
    const t = this.constantTensor(tensor);
    if (!t) throw new Error(`internal: ${tensor} is not a constant`);
    return initializerToFloat32(t, this.external);
  }

  nodesOf(op: string): IndexedNode[] {
    return this.nodes.filter((n) => n.op === op);
  }

  opCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const n of this.nodes) counts[n.op] = (counts[n.op] ?? 0) + 1;
    return counts;
  }
}

/** An integer or integer-list attribute of a node (undefined when absent). */
export function intAttr(node: IndexedNode, name: string): number | undefined {
  const a = (node.proto.attribute ?? []).find((x) => x.name === name);
  return a && a.i !== undefined && a.i !== null ? toNumber(a.i as number) : undefined;
}

export function floatAttr(node: IndexedNode, name: string): number | undefined {
  const a = (node.proto.attribute ?? []).find((x) => x.name === name);
  return a?.f ?? undefined;
}
