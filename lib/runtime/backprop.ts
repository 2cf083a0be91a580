/**
 * Backpropagation that frees as it goes (PyTorch's order of memory use),
 * installed as tfjs's `engine.gradients` (so `tf.variableGrads`, `tf.grads`
 * and optimizers use it).
 *
 * tfjs 4.22's backward pass keeps every intermediate gradient and every
 * tensor saved for the backward pass until the whole pass is over: a
 * 256 px pix2pix step peaks near twice the activations' memory above what
 * is needed. Here the tape is walked backward exactly as tfjs does it (same
 * nodes, same gradient functions, same additions, so the same values), but a
 * node's output gradients are disposed once the node has been
 * differentiated, and (outside nested gradients) so are its saved tensors.
 *
 * Engine internals used (tfjs-core 4.22): `state.activeTape`,
 * `state.gradientDepth`, `scopedRun`, `startTape`, `endTape`, `tidy`, and
 * the tape nodes' `inputs`, `outputs`, `gradient`, `saved`.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** A recorded kernel call on tfjs's tape. */
interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
  saved?: tf.Tensor[];
}

/** The parts of tfjs's `Engine` used here. */
interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  startTape(): void;
  endTape(): void;
  tidy<T extends tf.TensorContainer>(name: string | (() => T), f?: () => T): T;
  gradients: Gradients;
}

type Gradients = <T extends tf.Tensor>(
  f: () => T,
  xs: tf.Tensor[],
  dy?: T,
  allowNoGradients?: boolean,
) => { value: T; grads: tf.Tensor[] };

/**
 * The nodes on a path from some `xs` to `y`, inputs pruned to those that
 * depend on `xs` (tfjs's `getFilteredNodesXToY`).
 */
export function nodesFromXToY(
  tape: TapeNode[],
  xs: tf.Tensor[],
  y: tf.Tensor,
): TapeNode[] {
  const fromX = new Set(xs.map((x) => x.id));
  const nodesFromX = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((t) => fromX.has(t.id))) {
      node.outputs.forEach((o) => fromX.add(o.id));
      nodesFromX.add(node.id);
    }
  }
  const toY = new Set([y.id]);
  const nodesToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i];
    if (node.outputs.some((o) => toY.has(o.id))) {
      Object.values(node.inputs).forEach((t) => toY.add(t.id));
      nodesToY.add(node.id);
    }
  }
  return tape.filter((n) => nodesFromX.has(n.id) && nodesToY.has(n.id)).map(
    (node) => ({
      ...node,
      inputs: Object.fromEntries(
        Object.entries(node.inputs).filter(([, t]) => fromX.has(t.id)),
      ),
    }),
  );
}

/**
 * Walks `tape` backward from the gradients in `grads` (tensor id ->
 * gradient), accumulating into `grads`, and disposes each node's output
 * gradients once used, except `keep` (ids of the gradients to return) and
 * tensors in `foreign` (not ours to free). `freeSaved`: also dispose each
 * node's saved tensors once it is differentiated.
 */
function backprop(
  grads: Map<number, tf.Tensor>,
  tape: TapeNode[],
  keep: Set<number>,
  foreign: Set<tf.Tensor>,
  freeSaved: boolean,
  tidy: <T extends tf.TensorContainer>(f: () => T) => T,
): void {
  /** Disposes `t` unless it is foreign or still a gradient in the map. */
  const release = (t: tf.Tensor) => {
    if (foreign.has(t)) return;
    for (const g of grads.values()) if (g === t) return;
    t.dispose();
  };
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i];
    const dys = node.outputs.map((o) => grads.get(o.id) ?? null);
    if (node.gradient == null) {
      throw new Error(
        `Cannot compute gradient: gradient function not found for ${node.kernelName}.`,
      );
    }
    const inputGradients = node.gradient(dys);
    for (const [name, x] of Object.entries(node.inputs)) {
      if (!(name in inputGradients)) {
        throw new Error(
          `Cannot backprop through input ${name}. Available gradients found: ${
            Object.keys(inputGradients)
          }.`,
        );
      }
      const dx = tidy(() => inputGradients[name]());
      if (dx.dtype !== "float32") {
        throw new Error(
          `Error in gradient for op ${node.kernelName}. The gradient of input ${name} must have 'float32' dtype, but has '${dx.dtype}'`,
        );
      }
      if (!tf.util.arraysEqual(dx.shape, x.shape)) {
        throw new Error(
          `Error in gradient for op ${node.kernelName}. The gradient of input '${name}' has shape '${dx.shape}', which does not match the shape of the input '${x.shape}'`,
        );
      }
      const cur = grads.get(x.id);
      if (cur == null) grads.set(x.id, dx);
      else {
        grads.set(x.id, tf.add(cur, dx));
        release(cur);
        release(dx);
      }
    }
    for (const o of node.outputs) {
      const g = grads.get(o.id);
      if (g == null || keep.has(o.id)) continue;
      grads.delete(o.id);
      release(g);
    }
    if (freeSaved) node.saved?.forEach((t) => t.dispose());
  }
}

/** tfjs's `engine.gradients`, with {@link backprop}'s memory use. */
function leanGradients(engine: EngineInternals): Gradients {
  return (f, xs, dy, allowNoGradients = false) => {
    tf.util.assert(
      xs.length > 0,
      () => "gradients() received an empty list of xs.",
    );
    if (dy != null && dy.dtype !== "float32") {
      throw new Error(`dy must have 'float32' dtype, but has '${dy.dtype}'`);
    }
    const y = engine.scopedRun(
      () => engine.startTape(),
      () => engine.endTape(),
      () => engine.tidy("forward", f),
    );
    tf.util.assert(
      y instanceof tf.Tensor,
      () => "The result y returned by f() must be a tensor.",
    );
    const tape = engine.state.activeTape!;
    const filtered = nodesFromXToY(tape, xs, y);
    if (!allowNoGradients && filtered.length === 0 && xs.length > 0) {
      throw new Error(
        "Cannot compute gradient of y=f(x) with respect to x. Make sure " +
          "that the f you passed encloses all operations that lead from x " +
          "to y.",
      );
    }
    return engine.tidy("backward", () => {
      const grads = new Map<number, tf.Tensor>();
      const seed = dy ?? tf.ones(y.shape);
      grads.set(y.id, seed);
      const outermost = engine.state.gradientDepth === 0;
      backprop(
        grads,
        filtered,
        new Set(xs.map((x) => x.id)),
        new Set(dy != null ? [dy, y] : [y]),
        outermost,
        (fn) => engine.tidy(fn),
      );
      const result = xs.map((x) => grads.get(x.id)!);
      if (outermost) {
        tape.forEach((node) => node.saved?.forEach((t) => t.dispose()));
        engine.state.activeTape = null;
      }
      return { value: y, grads: result };
    }) as { value: typeof y; grads: tf.Tensor[] };
  };
}

let stock: Gradients | null = null;

/** Installs the lean backward pass as `tf.engine().gradients` (idempotent). */
export function installLeanBackprop(): void {
  if (stock != null) return;
  const engine = tf.engine() as unknown as EngineInternals;
  stock = engine.gradients.bind(engine);
  engine.gradients = leanGradients(engine);
}

/** Runs `f` with tfjs's own backward pass (for tests and comparisons). */
export function withStockBackprop<T>(f: () => T): T {
  const engine = tf.engine() as unknown as EngineInternals;
  if (stock == null) return f();
  const lean = engine.gradients;
  engine.gradients = stock;
  try {
    return f();
  } finally {
    engine.gradients = lean;
  }
}

/**
 * Runs `f` as if no gradient tape were recording: a nested gradient
 * computation inside `f` (the trainer's D step inside G's tape) gets a tape
 * of its own, which it frees when done, instead of leaving its forward and
 * backward ops, and the tensors they saved, on the outer tape. What `f`
 * computes is not differentiable by the outer tape (as if detached).
 */
export function untaped<T>(f: () => T): T {
  const state = (tf.engine() as unknown as EngineInternals).state;
  const { activeTape, gradientDepth } = state;
  state.activeTape = null;
  state.gradientDepth = 0;
  try {
    return f();
  } finally {
    state.activeTape = activeTape;
    state.gradientDepth = gradientDepth;
  }
}
