import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** ONNX element types used by the exporter (values of onnx.TensorProto.DataType). */
export const DT = {
  FLOAT: onnx.TensorProto.DataType.FLOAT,
  UINT8: onnx.TensorProto.DataType.UINT8,
  INT8: onnx.TensorProto.DataType.INT8,
  INT32: onnx.TensorProto.DataType.INT32,
  INT64: onnx.TensorProto.DataType.INT64,
} as const;

export type ElemType = (typeof DT)[keyof typeof DT];

/** A dimension: a fixed size or a symbolic name ("batch_size") for a dynamic axis. */
export type Dim = number | string;

export type AttrValue = number | number[] | string | { float: number } | { floats: number[] };

export interface ModelMeta {
  opset: number;
  irVersion: number;
  producerName: string;
  producerVersion: string;
  docString?: string;
}

function valueInfo(name: string, elemType: ElemType, dims: Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, value: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`attribute ${name}: ${value} is not an integer (use {float})`);
    return { name, type: T.INT, i: value };
  }
  if (Array.isArray(value)) return { name, type: T.INTS, ints: value };
  if ('float' in value) return { name, type: T.FLOAT, f: value.float };
  return { name, type: T.FLOATS, floats: value.floats };
}

function bytesOf(data: Float32Array | Int8Array | Uint8Array | Int32Array | BigInt64Array): Uint8Array {
  // ONNX raw_data is little-endian, as are typed arrays on every platform Node runs on.
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
}

/**
 * A small imperative builder for one ONNX graph: declare inputs, initializers and nodes, and get the
 * serialized ModelProto. Node outputs get unique names from the op type unless given explicitly.
 */
export class GraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly inits: onnxProto.onnx.ITensorProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  constructor(private readonly graphName: string) {}

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`ONNX graph: the name ${name} is used twice`);
    this.names.add(name);
    return name;
  }

  /** A fresh value name derived from `hint`. */
  fresh(hint: string): string {
    let name: string;
    do name = `/${hint}_${this.counter++}`;
    while (this.names.has(name));
    return this.claim(name);
  }

  input(name: string, elemType: ElemType, dims: Dim[]): string {
    this.inputs.push(valueInfo(this.claim(name), elemType, dims));
    return name;
  }

  /** Marks an existing value as a graph output. */
  output(name: string, elemType: ElemType, dims: Dim[]): void {
    if (!this.names.has(name)) throw new Error(`ONNX graph: output ${name} is not produced by any node`);
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  private init(name: string, dims: number[], dataType: ElemType, raw: Uint8Array, elems: number): string {
    const expected = dims.reduce((a, b) => a * b, 1);
    if (expected !== elems) throw new Error(`initializer ${name}: ${elems} values for shape [${dims.join(', ')}]`);
    this.inits.push({ name: this.claim(name), dims, dataType, rawData: raw });
    return name;
  }

  float(name: string, dims: number[], data: Float32Array | number[]): string {
    const arr = data instanceof Float32Array ? data : Float32Array.from(data);
    return this.init(name, dims, DT.FLOAT, bytesOf(arr), arr.length);
  }

  int64(name: string, dims: number[], data: number[]): string {
    return this.init(name, dims, DT.INT64, bytesOf(BigInt64Array.from(data.map(BigInt))), data.length);
  }

  int8(name: string, dims: number[], data: Int8Array): string {
    return this.init(name, dims, DT.INT8, bytesOf(data), data.length);
  }

  uint8(name: string, dims: number[], data: Uint8Array): string {
    return this.init(name, dims, DT.UINT8, bytesOf(data), data.length);
  }

  /** Adds a node with one output and returns the output's name. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outName?: string): string {
    return this.opMulti(opType, inputs, 1, attrs, outName ? [outName] : undefined)[0];
  }

  /** Adds a node with `numOutputs` outputs and returns their names. */
  opMulti(
    opType: string,
    inputs: string[],
    numOutputs: number,
    attrs: Record<string, AttrValue> = {},
    outNames?: string[],
  ): string[] {
    for (const i of inputs) {
      if (i !== '' && !this.names.has(i)) throw new Error(`ONNX graph: ${opType} reads ${i}, which does not exist yet`);
    }
    const outs = outNames ? outNames.map((n) => this.claim(n)) : [];
    for (let k = outs.length; k < numOutputs; k++) outs.push(this.fresh(`${opType}_out${k}`));
    this.nodes.push({
      name: `${opType}_${this.nodes.length}`,
      opType,
      input: inputs,
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  /** Serializes the model. */
  encode(meta: ModelMeta): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: meta.irVersion,
      producerName: meta.producerName,
      producerVersion: meta.producerVersion,
      docString: meta.docString ?? '',
      opsetImport: [{ domain: '', version: meta.opset }],
      graph: {
        name: this.graphName,
        node: this.nodes,
        initializer: this.inits,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
